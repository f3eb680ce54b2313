"""The right of access (RGPD art. 15 and 20): everything a neighbour gave and
did, in a machine-readable archive, and nothing of anyone else's private data;
and the right to erasure (art. 17)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timezone

from app.accounts.tables import Block, User, UserSkill, Vouch
from app.alerts import queries as alerts
from app.alerts.tables import Alert
from app.events.tables import Event, Signup
from app.groups import queries as groups
from app.i18n import DEFAULT_LOCALE
from app.invitations import queries as invitations
from app.invitations.tables import InvitationLink
from app.messages.tables import Conversation, Message
from app.moderation.tables import Report
from app.neighbours import profile_photos
from app.neighbours.tables import ProfilePhoto
from app.notify.tables import Notification, PushSubscription
from app.notify.text import describe
from app.polls import queries as polls
from app.polls.tables import PollOption
from app.posts import blobs, saved, thanks
from app.posts.tables import Loan, Photo, Post, Reply
from app.recommendations import queries as recommendations
from app.rides import queries as rides

PRIVATE_USER_FIELDS = ("password_hash", "calendar_token_hash")


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _rows(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


async def export_archive(user_id: int) -> bytes:
    profile = await User.select().where(User.id == user_id).first()
    for field in PRIVATE_USER_FIELDS:
        profile.pop(field, None)
    posts = await Post.select().where(Post.author == user_id).order_by(Post.id)
    photos = await Photo.select().where(Photo.owner == user_id).order_by(Photo.id)
    data = {
        "format": "voisinage-export/1",
        "exported_at": datetime.now().astimezone().isoformat(),
        "profile": {k: _plain(v) for k, v in profile.items()},
        "skills": [r["skill"] for r in await UserSkill.select(UserSkill.skill).where(UserSkill.user == user_id)],
        "posts": _rows(posts),
        "photos": _rows(photos),
        "replies": _rows(await Reply.select().where(Reply.author == user_id).order_by(Reply.id)),
        # Only what this person wrote: the other side of a conversation is theirs.
        "messages_sent": _rows(
            await Message.select(Message.id, Message.conversation, Message.body, Message.created_at)
            .where(Message.sender == user_id)
            .order_by(Message.id)
        ),
        "event_signups": _rows(
            await Signup.select(
                Signup.event,
                Signup.occurrence,
                Signup.occurrence.starts_at.as_alias("occurrence_starts_at"),
                Signup.status,
                Signup.position,
                Signup.created_at,
            ).where(Signup.user == user_id)
        ),
        "loans": _rows(await Loan.select().where((Loan.lender == user_id) | (Loan.borrower == user_id))),
        "rides_offered": _rows(await rides.offered_by(user_id)),
        "ride_seats": _rows(await rides.seats_of(user_id)),
        "notifications": _rows(
            [
                {**row, "text": describe(row["kind"], row["params"], profile["locale"] or DEFAULT_LOCALE)}
                for row in await Notification.select(
                    Notification.kind,
                    Notification.url,
                    Notification.params,
                    Notification.created_at,
                    Notification.read_at,
                )
                .where(Notification.user == user_id)
                .order_by(Notification.id)
                .output(load_json=True)
            ]
        ),
        "reports_made": _rows(
            await Report.select(
                Report.target_type, Report.target_id, Report.reason, Report.text, Report.created_at
            ).where(Report.reporter == user_id)
        ),
        "blocked": [r["blocked"] for r in await Block.select(Block.blocked).where(Block.blocker == user_id)],
        # The devices that receive notifications, without their keys.
        "push_devices": _rows(
            await PushSubscription.select(
                PushSubscription.user_agent, PushSubscription.created_at, PushSubscription.last_success_at
            ).where(PushSubscription.user == user_id)
        ),
        # How many joined through them, never who: the invitees' accounts are theirs.
        "invitations": {
            "links": _rows(
                await InvitationLink.select(
                    InvitationLink.code, InvitationLink.neighbourhood, InvitationLink.created_at
                ).where(InvitationLink.inviter == user_id)
            ),
            "neighbours_joined": await invitations.accepted_count(user_id),
        },
        # The businesses they recommended, the entries they started and their « Moi aussi ».
        "recommendations": _rows(await recommendations.exported(user_id)),
        "alerts": _rows(await alerts.of_author(user_id)),
        # Thanks given and received and saved posts; an erased account's go with it
        # (ON DELETE CASCADE; thanks it gave stay on the helper's side, unsigned).
        "thanks": {key: _rows(value) for key, value in (await thanks.thanks_of(user_id)).items()},
        "saved_posts": _rows(await saved.saved_of(user_id)),
        # Their posts in groups are among "posts" (each with its group).
        "groups": _rows(await groups.memberships_of(user_id)),
        "vouched_for": [r["vouchee"] for r in await Vouch.select(Vouch.vouchee).where(Vouch.voucher == user_id)],
        # The polls of their discussions, and their own choices (no one else's).
        **{key: _rows(value) for key, value in (await polls.export_of(user_id)).items()},
        "profile_photo": _rows(
            await ProfilePhoto.select(ProfilePhoto.name, ProfilePhoto.created_at).where(ProfilePhoto.user == user_id)
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("voisinage.json", json.dumps(data, ensure_ascii=False, indent=2))
        # One image in memory at a time, read from the database; WebP is
        # compressed already.
        for photo in photos:
            data = await blobs.data_of(photo["large"]) if photo["large"] else None
            if data is not None:
                archive.writestr(f"photos/{photo['name']}.webp", data, compress_type=zipfile.ZIP_STORED)
        for photo in await ProfilePhoto.select(ProfilePhoto.name, ProfilePhoto.large).where(
            ProfilePhoto.user == user_id
        ):
            data = await blobs.data_of(photo["large"])
            if data is not None:
                archive.writestr(f"profile/{photo['name']}.webp", data, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


async def erase_account(user_id: int) -> None:
    """The right to erasure: the account and everything personal goes; public
    posts and replies stay, signed « Compte supprimé », so threads still read."""
    from app.accounts.tables import Session
    from app.neighbourhoods import newcomers
    from app.neighbourhoods import queries as neighbourhoods
    from app.neighbourhoods.tables import Neighbourhood

    user = (
        await User.select(User.id, User.neighbourhood, User.email, User.first_name, User.last_name, User.address_label)
        .where(User.id == user_id)
        .first()
    )
    if user is None:
        return
    await _scrub_own_words(user)
    await _end_commitments(user_id)
    async with User._meta.db.transaction():
        await Session.delete().where(Session.user == user_id)
        images = await blobs.shown_by(Photo.owner == user_id)
        await Photo.delete().where(Photo.owner == user_id)
        await blobs.let_go(images)
        await profile_photos.remove(user_id)
        await Post.update({Post.photo_count: 0, Post.cover: "", Post.cover_width: 0, Post.cover_height: 0}).where(
            Post.author == user_id
        )
        # Private words are theirs to take away; notifications about their
        # actions carry their name.
        await Message.delete().where(Message.sender == user_id)
        # Every unread message the other side had was theirs, and is gone.
        await Conversation.update({Conversation.a_unread: 0}).where(Conversation.user_b == user_id)
        await Conversation.update({Conversation.b_unread: 0}).where(Conversation.user_a == user_id)
        await Notification.delete().where(Notification.actor == user_id)
        await recommendations.erase(user_id)
        # A proposal no moderator read yet goes; published alerts stay, signed by nobody (SET NULL).
        await Alert.delete().where((Alert.author == user_id) & (Alert.status == "proposed"))
        if user["neighbourhood"]:
            await Neighbourhood.update({Neighbourhood.member_count: Neighbourhood.member_count - 1}).where(
                Neighbourhood.id == user["neighbourhood"]
            )
        # Posts, replies, loans and reports point to nobody from here on
        # (ON DELETE SET NULL); sessions, skills, signups, subscriptions and
        # notifications go with the row (ON DELETE CASCADE).
        await User.delete().where(User.id == user_id)
    neighbourhoods.forget(user["neighbourhood"])
    newcomers.forget(user["neighbourhood"])


async def _end_commitments(user_id: int) -> None:
    """What others count on ends the way it ends when one does it oneself, and
    before the account goes (its rows would vanish without counters moving):
    seats are given back and the waiting list moves up, events they organise
    are cancelled, loans end, listings close. Everyone affected is told."""
    from app.events import queries as events
    from app.notify.queries import notify
    from app.posts import loans
    from app.posts import queries as posts

    for signup in await Signup.select(Signup.event, Signup.occurrence).where(
        (Signup.user == user_id) & Signup.status.is_in(["going", "waitlist"])
    ):
        await events.leave(signup["event"], user_id, occurrence_id=signup["occurrence"])
    await polls.forget_votes_of(user_id)
    # A series is still on while any of its dates is to come.
    organised = await Event.select(Event.post, Event.post.title).where(
        (Event.post.author == user_id)
        & Event.cancelled_at.is_null()
        & ((Event.ends_at >= datetime.now(timezone.utc)) | (Event.repeat != ""))
    )
    for event in organised:
        # No actor: notifications naming the person go with the account.
        await events.cancel_event(event["post"], event["post.title"])
    await rides.end_rides_of(user_id)
    for loan in await loans.end_loans_of(user_id):
        other = loan["borrower"] if loan["lender"] == user_id else loan["lender"]
        await notify(
            [other],
            "loan",
            url=f"/posts/{loan['post']}",
            params={"what": "ended", "title": loan["post.title"]},
        )
    await posts.close_listings_of(user_id)
    # Their groups go on under their oldest member, or close when empty.
    await groups.leave_every_group(user_id)


def _scrubbed(text: str, traces: list[str]) -> str:
    import re

    for trace in traces:
        text = re.sub(re.escape(trace), "[effacé]", text, flags=re.IGNORECASE)
    return text


async def _scrub_own_words(user: dict) -> None:
    """What stays public must not name them: their email, full name, last name
    and address are taken out of their own posts and replies."""
    traces = [
        t
        for t in (
            user["email"],
            user["address_label"],
            f"{user['first_name']} {user['last_name']}",
            user["last_name"] if len(user["last_name"] or "") >= 3 else None,
        )
        if t
    ]
    for post in await Post.select(Post.id, Post.title, Post.body).where(Post.author == user["id"]):
        title, body = _scrubbed(post["title"], traces), _scrubbed(post["body"], traces)
        if (title, body) != (post["title"], post["body"]):
            await Post.update({Post.title: title, Post.body: body}).where(Post.id == post["id"])
    for reply in await Reply.select(Reply.id, Reply.body).where(Reply.author == user["id"]):
        body = _scrubbed(reply["body"], traces)
        if body != reply["body"]:
            await Reply.update({Reply.body: body}).where(Reply.id == reply["id"])
    for option in await PollOption.select(PollOption.id, PollOption.label).where(
        PollOption.poll.post.author == user["id"]
    ):
        label = _scrubbed(option["label"], traces)[:100]
        if label != option["label"]:
            await PollOption.update({PollOption.label: label}).where(PollOption.id == option["id"])
    for alert in await Alert.select(Alert.id, Alert.neighbourhood, Alert.title, Alert.body).where(
        Alert.author == user["id"]
    ):
        title, body = _scrubbed(alert["title"], traces), _scrubbed(alert["body"], traces)
        if (title, body) != (alert["title"], alert["body"]):
            await Alert.update({Alert.title: title, Alert.body: body}).where(Alert.id == alert["id"])
            alerts.forget_showing(alert["neighbourhood"])
