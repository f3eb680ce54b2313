"""How posts read: their labels and states, and what a list shows of each
post, computed once in Python per row.

A feed page renders twenty posts; doing the labels here instead of through
template function calls is a good share of the page's cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from jinja2 import pass_context
from markupsafe import Markup

from app import i18n, search
from app.posts.kinds import CLOSED, KINDS, SINGULAR, SKILLS, STATUSES, display_name
from app.posts.photos import small_width
from app.posts.prices import format_price
from app.templating import CSRF_MARK, Rendered, date_locale, format_ago, labeller


def status_label(kind: str, status: str) -> str:
    if status == "hidden":
        return i18n.gettext("Masquée")
    if status == "closed":
        return i18n.gettext(CLOSED)
    label = STATUSES.get(kind, {}).get(status)
    return i18n.gettext(label) if label else status


def post_status(post: dict) -> str:
    """The state a post page shows. An event's follows its cancellation and
    its dates: once cancelled or over it is never « À venir »."""
    if post["kind"] == "event" and post["status"] != "hidden" and post.get("event_starts_at"):
        now = datetime.now(timezone.utc)
        if post.get("event_cancelled_at"):
            return i18n.gettext("Annulé")
        if post.get("event_repeat"):
            # A series goes on past its first date: its dates say the rest.
            return status_label(post["kind"], post["status"])
        if post["event_ends_at"] < now:
            return i18n.gettext("Terminé")
        if post["event_starts_at"] <= now:
            return i18n.gettext("En cours")
    return status_label(post["kind"], post["status"])


# What the posts domain gives every template (app.main hands it to app.templating).
TEMPLATE_GLOBALS = {
    "person": display_name,
    "singular_kind": lambda kind: SINGULAR.get(kind, kind),
    "status_label": status_label,
    "post_status": post_status,
    "skill_label": labeller(SKILLS),
    "feed_kinds": KINDS,
    "small_width": small_width,
    "price": format_price,
}


def decorate(rows: list[dict], nearby_names: dict[int, str] | None = None) -> list[dict]:
    """`nearby_names`: the quartiers voisins in a widened feed, whose posts say where they come from."""
    gettext = i18n.translations(i18n.current_locale.get()).gettext
    for row in rows:
        if nearby_names and row.get("neighbourhood") in nearby_names:
            row["from_quartier"] = nearby_names[row["neighbourhood"]]
        row["kind_label"] = gettext(SINGULAR.get(row["kind"], row["kind"]))
        row["status_text"] = status_label(row["kind"], row["status"]) if row["status"] != "open" else ""
        row["author_name"] = display_name(row.get("author_first_name"), row.get("author_last_name"))
        row["when_text"] = format_ago(row["created_at"])
        replies = row.get("reply_count") or 0
        row["replies_text"] = i18n.ngettext("%(num)s réponse", "%(num)s réponses", replies) if replies else ""
        voters = row.get("poll_voters")
        row["poll_text"] = (
            "" if voters is None else i18n.ngettext("Sondage · %(num)s vote", "Sondage · %(num)s votes", voters)
        )
        row["price_text"] = format_price(row.get("price_cents")) if row["kind"] == "sale" else ""
    return rows


def highlight(rows: list[dict], q: str) -> list[dict]:
    """Search results show the query's words marked in the title and in a
    piece of the body around the first of them."""
    stems = search.query_stems(q)
    for row in rows:
        row["title_html"] = search.highlight(row["title"], stems)
        row["excerpt_html"] = search.excerpt(row.get("body") or "", stems)
    return rows


# Every value templates/posts/_post_item.html (and the event line it includes)
# reads: a card is kept under these, so a field the card starts to show
# must be added here.
CARD_FIELDS = (
    "id", "kind", "kind_label", "status", "status_text", "pinned", "title", "title_html", "excerpt", "excerpt_html",
    "cover", "cover_width", "cover_height", "author_name", "created_at", "when_text", "replies_text",
    "event_starts_at", "event_cancelled_at", "event_place", "event_repeat", "from_quartier", "poll_text",
    "price_text", "ride_origin", "ride_destination", "ride_departs_at", "ride_returns_at", "ride_seats",
    "ride_seats_taken", "thanked",
)  # fmt: skip


def card_renderer(environment) -> Callable[..., Markup]:
    """`post_card(post)` for templates: a post's card in a list, rendered once
    per version, language and way of writing dates, then served from memory (a town's busy feed
    pages many times over: a few megabytes at most). Rendering twenty cards
    was most of a feed page's cost. `saved` (True or False) adds the reader's
    « Enregistrer » button, kept with the card under the same key."""
    cards = Rendered(5000)
    template = environment.get_template("posts/_post_item.html")
    save_form = environment.get_template("posts/_save_macro.html")

    def with_save_button(post: dict, saved: bool) -> str:
        card = str(template.module.post_item(post))
        button = str(save_form.make_module({"csrf_input": CSRF_MARK}).save_button(post, saved))
        head, _, tail = card.rpartition("</article>")
        return head + button + "</article>" + tail

    @pass_context
    def post_card(context, post: dict, saved: bool | None = None) -> Markup:
        # A field a row lacks reads as None: the card reads None and a missing
        # field alike (`excerpt_html` is never None when it is there).
        key = (date_locale(), saved, *map(post.get, CARD_FIELDS))
        if saved is None:
            return cards.get(key, lambda: template.module.post_item(post))
        card = cards.get(key, lambda: with_save_button(post, bool(saved)))
        return Markup(str(card).replace(CSRF_MARK, str(context.get("csrf_input", ""))))

    return post_card
