"""The quartier's digest by email, daily or weekly as each person chose:
new listings by kind, upcoming events, open help requests matching the
person's skills, neighbours welcomed.

Built per quartier, not per person: four queries read what is new in the
quartier, one reads its members; only the skill filter and the preference are
applied per person, in memory. A quartier's digest of a period is made once
whatever the number of workers: the worker that records the `digest_run` row
queues the mails in the same transaction, the others find the row and skip it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, time, timedelta, timezone

from markupsafe import Markup

from app import i18n
from app.access import blocked_among, suspension
from app.access.posts import VISIBLE
from app.accounts.tables import User
from app.events.tables import Event
from app.neighbourhoods.tables import Neighbourhood
from app.notify.mail_outbox import render
from app.notify.preferences import digest
from app.notify.tables import DigestRun, MailDelivery
from app.posts.kinds import KINDS, SKILLS, display_name
from app.posts.tables import Post
from app.settings import get_settings
from app.templating import PARIS

log = logging.getLogger("voisinage.digest")

LENGTH = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
SEND_AT = time(7, 0)  # Paris time: read with the morning coffee
LISTINGS = 40
EVENTS = 15
HELP_REQUESTS = 60
NEWCOMERS = 30


def period(frequency: str, now: datetime) -> tuple[str, datetime]:
    """The current period's key ("weekly:2026-W49") and the moment it began
    (a day or a Monday, at SEND_AT in Paris)."""
    local = now.astimezone(PARIS)
    start = datetime.combine(local.date(), SEND_AT, tzinfo=PARIS)
    if frequency == "weekly":
        start -= timedelta(days=local.weekday())
    if start > local:
        start -= LENGTH[frequency]
    if frequency == "weekly":
        year, week, _day = start.isocalendar()
        return f"weekly:{year}-W{week:02d}", start.astimezone(timezone.utc)
    return f"daily:{start.date().isoformat()}", start.astimezone(timezone.utc)


async def run(now: datetime | None = None) -> int:
    """Queues the digests of the current periods not made yet; returns how many mails."""
    now = now or datetime.now(timezone.utc)
    queued = 0
    for frequency in LENGTH:
        key, began = period(frequency, now)
        made = {
            r["neighbourhood"] for r in await DigestRun.select(DigestRun.neighbourhood).where(DigestRun.period == key)
        }
        todo = await Neighbourhood.select(Neighbourhood.id, Neighbourhood.name).where(Neighbourhood.member_count > 0)
        for neighbourhood in (n for n in todo if n["id"] not in made):
            queued += await neighbourhood_digest(neighbourhood, frequency, key, began - LENGTH[frequency], now)
    return queued


async def neighbourhood_digest(neighbourhood: dict, frequency: str, key: str, since: datetime, now: datetime) -> int:
    async with DigestRun._meta.db.transaction():
        claimed = (
            await DigestRun.insert(DigestRun(neighbourhood=neighbourhood["id"], period=key))
            .on_conflict(action="DO NOTHING")
            .returning(DigestRun.id)
        )
        if not claimed:
            return 0  # another worker made it
        members = await User.select(
            User.id, User.first_name, User.locale, User.notification_prefs, User.skills,
            User.suspended_until, User.mail_stopped_at,
        ).where(User.neighbourhood == neighbourhood["id"])  # fmt: skip
        readers = [m for m in members if digest(m["notification_prefs"]) == frequency and not m["mail_stopped_at"]]
        readers = [m for m in readers if not suspension(m, at=now)]
        if not readers:
            return 0
        news = await quartier_news(neighbourhood["id"], since, now, LENGTH[frequency] * 2)
        hidden = await blocked_among([m["id"] for m in readers])
        # What readers see alike is rendered once per language (and set of blocks), not once per reader.
        sections: dict[tuple, tuple[str, str]] = {}
        mails = [
            mail
            for m in readers
            if (mail := _mail_for(m, neighbourhood["name"], frequency, news, hidden.get(m["id"], set()), sections, now))
        ]
        for start in range(0, len(mails), 500):
            await MailDelivery.insert(*mails[start : start + 500])
    return len(mails)


async def quartier_news(neighbourhood_id: int, since: datetime, now: datetime, ahead: timedelta) -> dict:
    """What every reader of this quartier's digest may be shown: one query per section."""
    # A group's posts and events are its members' only: never in the quartier's digest.
    visible = (Post.neighbourhood == neighbourhood_id) & Post.status.is_in(list(VISIBLE)) & Post.group.is_null()
    listings = (
        await Post.select(Post.id, Post.kind, Post.title, Post.author)
        .where(visible & (Post.created_at >= since) & (Post.status == "open"))
        .where(Post.kind.not_in(["event", "help_request"]))
        .order_by(Post.created_at, ascending=False)
        .limit(LISTINGS)
    )
    events = (
        await Event.select(
            Event.post,
            Event.post.title.as_alias("title"),
            Event.post.author.as_alias("author"),
            Event.starts_at,
            Event.place,
        )
        .where((Event.neighbourhood == neighbourhood_id) & Event.cancelled_at.is_null())
        .where((Event.starts_at >= now) & (Event.starts_at < now + ahead))
        .where(Event.post.status.is_in(list(VISIBLE)) & Event.post.group.is_null())
        .order_by(Event.starts_at)
        .limit(EVENTS)
    )
    help_requests = (
        await Post.select(Post.id, Post.title, Post.details, Post.author)
        .where(visible & (Post.kind == "help_request") & (Post.status == "open"))
        .where(Post.created_at >= now - timedelta(days=30))
        .order_by(Post.created_at, ascending=False)
        .limit(HELP_REQUESTS)
    )
    newcomers = (
        await User.select(User.id, User.first_name, User.last_name)
        .where((User.neighbourhood == neighbourhood_id) & (User.created_at >= since))
        .order_by(User.created_at)
        .limit(NEWCOMERS)
    )
    return {
        "listings": listings,
        "events": events,
        "help": [(_details(p).get("skill"), p) for p in help_requests],
        # Named once here, not once per reader.
        "newcomers": [(n["id"], display_name(n["first_name"], n["last_name"])) for n in newcomers],
    }


def _details(post: dict) -> dict:
    details = post["details"]
    return json.loads(details or "{}") if isinstance(details, str) else details or {}


def _skills(member: dict) -> set[str]:
    skills = member["skills"]
    return set(json.loads(skills or "[]") if isinstance(skills, str) else skills or [])


def _by_kind(listings: list[dict]) -> list[tuple[str, list[dict]]]:
    grouped: dict[str, list[dict]] = {}
    for post in listings:
        grouped.setdefault(post["kind"], []).append(post)
    return [(kind, grouped[kind]) for kind in KINDS if kind in grouped]


def _mail_for(
    member: dict,
    quartier: str,
    frequency: str,
    news: dict,
    hidden: set[int],
    sections: dict[tuple, tuple[str, str]],
    now: datetime,
) -> MailDelivery | None:
    """`hidden`: the people this reader blocked or was blocked by (app.access.blocks)."""
    skills = _skills(member)
    context = {
        "first_name": member["first_name"],
        "quartier": quartier,
        "frequency": frequency,
        "by_kind": _by_kind([p for p in news["listings"] if p["author"] not in hidden]),
        "events": [e for e in news["events"] if e["author"] not in hidden],
        "help": [(skill, post) for skill, post in news["help"] if skill in skills and post["author"] not in hidden],
        "newcomers": [name for who, name in news["newcomers"] if who != member["id"] and who not in hidden],
        "base": get_settings().base_url,
        "kinds": KINDS,
        "skills": SKILLS,
    }
    if not (context["by_kind"] or context["events"] or context["help"] or context["newcomers"]):
        return None  # nothing new: no mail rather than an empty one
    # The shared sections differ by language and by whose listings and events
    # this reader may not see: readers without such blocks share one render.
    unseen = frozenset(p["author"] for p in (*news["listings"], *news["events"]) if p["author"] in hidden)
    with i18n.speaking(member["locale"]):
        key = (i18n.current_locale.get(), unseen)
        if key not in sections:
            sections[key] = (
                render("mail/digest_quartier.txt", context),
                render("mail/digest_quartier.html", context),
            )
        text, html = sections[key]
        if frequency == "weekly":
            subject = i18n.gettext("Cette semaine à %(quartier)s", quartier=quartier)
        else:
            subject = i18n.gettext("Aujourd'hui à %(quartier)s", quartier=quartier)
        return MailDelivery(
            user=member["id"],
            kind="digest",
            subject=subject,
            text_body=render("mail/digest.txt", context | {"shared": text}),
            html_body=render("mail/digest.html", context | {"shared": Markup(html)}),
            next_attempt_at=now,
        )
