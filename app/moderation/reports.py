"""Reports: anyone can flag a post, a reply, a message they received or a
profile; moderators of its quartier look at the queue."""

from __future__ import annotations

from datetime import datetime, timezone

from app.access import HIDDEN
from app.db.keyset import Keyset, keyset_page
from app.i18n import N_
from app.moderation.audit import audit
from app.moderation.tables import Report
from app.posts.tables import Post

REASONS = {
    "spam": N_("Spam"),
    "hate": N_("Propos haineux"),
    "scam": N_("Arnaque"),
    "off_topic": N_("Hors sujet"),
    "other": N_("Autre"),
}
SAFETY_NET = 3
_OLDEST_FIRST = Keyset("r.id")


async def report_post(reporter, post: dict, reason: str, text: str) -> bool:
    """Records the report (once per person and post); returns True when the
    community safety net hid the post."""
    if await Report.exists().where(
        (Report.reporter == reporter.id)
        & (Report.target_type == "post")
        & (Report.target_id == post["id"])
        & (Report.status == "open")
    ):
        return False
    await Report.insert(
        Report(
            reporter=reporter.id,
            neighbourhood=post["neighbourhood"],
            target_type="post",
            target_id=post["id"],
            target_user=post["author"],
            reason=reason,
            text=text,
        )
    )
    if post["status"] in HIDDEN:
        return False
    # Three distinct verified neighbours: hidden until a moderator looks.
    rows = await Report.raw(
        "SELECT COUNT(DISTINCT r.reporter) AS n FROM report r JOIN account a ON a.id = r.reporter "
        "WHERE r.target_type = 'post' AND r.target_id = {} AND r.status = 'open' AND a.verification = 'verified' "
        "AND a.neighbourhood = {}",
        post["id"],
        post["neighbourhood"],
    )
    if int(rows[0]["n"]) >= SAFETY_NET:
        await Post.update(
            {Post.status: "hidden", Post.hidden_reason: "Signalée par plusieurs voisins, en attente de modération"}
        ).where(Post.id == post["id"])
        await audit(
            None,
            "hide",
            "post",
            post["id"],
            "Signalée par plusieurs voisins vérifiés",
            neighbourhood=post["neighbourhood"],
            target_user=post["author"],
        )
        return True
    return False


async def report_other(
    reporter, target_type: str, target_id: int, neighbourhood_id: int, target_user: int | None, reason: str, text: str
) -> None:
    """A reply, a message or a profile: recorded once per person while open."""
    if await Report.exists().where(
        (Report.reporter == reporter.id)
        & (Report.target_type == target_type)
        & (Report.target_id == target_id)
        & (Report.status == "open")
    ):
        return
    await Report.insert(
        Report(
            reporter=reporter.id,
            neighbourhood=neighbourhood_id,
            target_type=target_type,
            target_id=target_id,
            target_user=target_user,
            reason=reason,
            text=text,
        )
    )


async def queue(
    neighbourhood_ids: list[int] | None, *, after: int | None = None, limit: int = 30
) -> tuple[list[dict], int | None]:
    """Open reports, oldest first, and the next page's cursor; None means every quartier (admins)."""
    args: list = []
    # Each report with what it is about, whatever its kind, in one query; the
    # reporter is never selected.
    sql = (
        "SELECT r.id, r.reason, r.text, r.created_at, r.target_type, r.target_id, r.target_user, r.neighbourhood, "
        "p.title, p.body, p.status, p.hidden_reason, rp.body AS reply_body, rp.post AS reply_post, "
        "rp.hidden AS reply_hidden, ms.body AS message_body, u.first_name AS target_first_name, "
        "u.last_name AS target_last_name, u.bio AS target_bio, u.suspended_until AS target_suspended_until, "
        "al.title AS alert_title, al.body AS alert_body "
        "FROM report r "
        "LEFT JOIN post p ON r.target_type = 'post' AND p.id = r.target_id "
        "LEFT JOIN reply rp ON r.target_type = 'reply' AND rp.id = r.target_id "
        "LEFT JOIN message ms ON r.target_type = 'message' AND ms.id = r.target_id "
        "LEFT JOIN alert al ON r.target_type = 'alert' AND al.id = r.target_id "
        "LEFT JOIN account u ON u.id = r.target_user "
        "WHERE r.status = 'open'"
    )
    if neighbourhood_ids is not None:
        if not neighbourhood_ids:
            return [], None
        sql += f" AND r.neighbourhood IN ({', '.join('{}' for _ in neighbourhood_ids)})"
        args += neighbourhood_ids
    return await keyset_page(Report.raw(sql, *args), _OLDEST_FIRST, cursor=after or None, size=limit)


async def close(report_ids: list[int], moderator, status: str, note: str) -> None:
    await Report.update(
        {
            Report.status: status,
            Report.resolved_by: moderator.id,
            Report.resolved_at: datetime.now(timezone.utc),
            Report.resolution_note: note,
        }
    ).where(Report.id.is_in(report_ids) & (Report.status == "open"))
