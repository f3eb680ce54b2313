"""Who may see and do what: the one place the rules live.

One module per subject: `alerts` (urgent alerts), `viewers` (the anonymous stand-in, roles,
suspension, the 404/403 refusals), `moderators` (who moderates where),
`blocks`, `nearby` (quartiers voisins), `recommendations` (local businesses), `groups` (interest groups), `posts`, `people` (profiles, messages, vouching, reports,
moderating members), `refusals` (why one may not publish or write now),
`guards` (signed in / member / admin) and `page` (`can(me)`: the same
answers for templates). Routes ask here before they show or change anything; queries
receive what these functions decided (the viewer's quartier, blocked ids,
`visible_posts_clause`). This package reads the domains' tables and nothing
above them.

Refusals: `NotFound` (404) for what must not be known to exist, which is the
answer for anything of another quartier; `Forbidden` (403) for what is known
but not allowed.
"""

from app.access.alerts import can_see_alert, ensure_can_decide_alert
from app.access.blocks import blocked_among, blocked_ids, has_blocked
from app.access.groups import GroupRights, ensure_group, ensure_group_admin, group_rights, group_role
from app.access.guards import (
    NeedsAddress,
    requires_admin,
    requires_login,
    requires_member,
    requires_signup_step,
    signed_in,
)
from app.access.moderators import can_moderate, lives_in, moderated_neighbourhoods, moderation_reach
from app.access.nearby import are_nearby, nearby_ids
from app.access.page import Can, can
from app.access.people import (
    can_moderate_member,
    can_reach,
    can_report_message,
    can_report_reply,
    can_see_profile,
    can_suspend,
    can_vouch_for,
    in_conversation,
    may_vouch,
    vouch_offered,
)
from app.access.posts import (
    HIDDEN,
    VISIBLE,
    PostRights,
    can_edit_post,
    can_see_post,
    can_see_reply,
    ensure_can_edit_post,
    ensure_can_see_post,
    group_posts_clause,
    is_author,
    post_rights,
    sees_post,
    visible_posts_clause,
)
from app.access.recommendations import (
    can_hide_recommendation,
    can_see_business,
    may_recommend,
    recommendation_area,
)
from app.access.refusals import message_refusal, posting_refusal, reply_refusal
from app.access.viewers import (
    ANONYMOUS,
    Anonymous,
    Forbidden,
    NotFound,
    as_viewer,
    awaiting_address,
    is_admin,
    is_staff,
    suspension,
)

__all__ = [
    "ANONYMOUS",
    "HIDDEN",
    "VISIBLE",
    "Anonymous",
    "Can",
    "Forbidden",
    "GroupRights",
    "NeedsAddress",
    "NotFound",
    "PostRights",
    "as_viewer",
    "are_nearby",
    "awaiting_address",
    "blocked_among",
    "blocked_ids",
    "can",
    "can_edit_post",
    "can_hide_recommendation",
    "can_see_business",
    "can_moderate",
    "can_moderate_member",
    "can_reach",
    "can_report_message",
    "can_report_reply",
    "can_see_alert",
    "can_see_post",
    "can_see_profile",
    "can_see_reply",
    "can_suspend",
    "can_vouch_for",
    "ensure_can_decide_alert",
    "ensure_can_edit_post",
    "ensure_can_see_post",
    "ensure_group",
    "ensure_group_admin",
    "group_posts_clause",
    "group_rights",
    "group_role",
    "has_blocked",
    "in_conversation",
    "is_admin",
    "is_author",
    "is_staff",
    "lives_in",
    "may_recommend",
    "may_vouch",
    "message_refusal",
    "moderated_neighbourhoods",
    "moderation_reach",
    "nearby_ids",
    "post_rights",
    "posting_refusal",
    "recommendation_area",
    "reply_refusal",
    "requires_admin",
    "requires_login",
    "requires_member",
    "requires_signup_step",
    "signed_in",
    "sees_post",
    "suspension",
    "visible_posts_clause",
    "vouch_offered",
]
