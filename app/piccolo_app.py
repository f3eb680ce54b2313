from piccolo.conf.apps import AppConfig

from app.accounts.tables import (
    AccountToken,
    Block,
    LoginThrottle,
    ModeratorAssignment,
    PendingSignup,
    Session,
    User,
    UserSkill,
    VerificationCode,
    Vouch,
)
from app.addresses.tables import Address, AddressImport, AddressWay
from app.alerts.tables import Alert, AlertDay
from app.db.keys import InstanceKey
from app.events.tables import Event, Occurrence, Signup
from app.groups.tables import GroupMember, InterestGroup
from app.invitations.tables import InvitationLink, InvitedSignup
from app.messages.tables import Conversation, Message
from app.moderation.tables import ModerationAction, Report
from app.neighbourhoods.tables import Neighbourhood, NeighbourhoodNearby
from app.neighbours.tables import ProfilePhoto
from app.notify.tables import DigestRun, MailDelivery, Notification, PushDelivery, PushSubscription
from app.polls.tables import Poll, PollOption, PollVote
from app.posts.tables import Loan, Photo, PhotoBlob, Post, Reply, SavedPost, Thanks
from app.ratelimits import RateLimit
from app.recommendations.tables import Business, Recommendation
from app.rides.tables import Ride, RideSeat
from app.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="voisinage",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=[
        Neighbourhood,
        NeighbourhoodNearby,
        User,
        Session,
        AccountToken,
        UserSkill,
        PendingSignup,
        LoginThrottle,
        RateLimit,
        InterestGroup,
        GroupMember,
        Post,
        PhotoBlob,
        Photo,
        Reply,
        Loan,
        Poll,
        PollOption,
        PollVote,
        Thanks,
        SavedPost,
        Conversation,
        Message,
        Event,
        Occurrence,
        Signup,
        Notification,
        PushSubscription,
        PushDelivery,
        MailDelivery,
        DigestRun,
        ModeratorAssignment,
        Report,
        ModerationAction,
        Block,
        Vouch,
        VerificationCode,
        AddressImport,
        AddressWay,
        Address,
        InstanceKey,
        InvitationLink,
        InvitedSignup,
        Ride,
        RideSeat,
        Business,
        Recommendation,
        Alert,
        AlertDay,
        ProfilePhoto,
    ],
    migration_dependencies=[],
    commands=[],
)
