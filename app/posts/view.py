"""What a list shows of each post, computed once in Python per row.

A feed page renders twenty posts; doing the labels here instead of through
template function calls is a good share of the page's cost.
"""

from __future__ import annotations

from app import i18n
from app.posts import search
from app.posts.kinds import CLOSED, SINGULAR, STATUSES, display_name


def decorate(rows: list[dict]) -> list[dict]:
    from app.main import format_when

    gettext = i18n.translations(i18n.current_locale.get()).gettext
    for row in rows:
        row["kind_label"] = gettext(SINGULAR.get(row["kind"], row["kind"]))
        status = row["status"]
        if status in ("hidden", "removed"):
            row["status_text"] = gettext("Masquée")
        elif status == "closed":
            row["status_text"] = gettext(CLOSED)
        elif status != "open":
            row["status_text"] = gettext(STATUSES.get(row["kind"], {}).get(status, status))
        else:
            row["status_text"] = ""
        row["author_name"] = display_name(row.get("author_first_name"), row.get("author_last_name"))
        row["when_text"] = format_when(row["created_at"], "short")
        replies = row.get("reply_count") or 0
        row["replies_text"] = i18n.ngettext("%(num)s réponse", "%(num)s réponses", replies) if replies else ""
    return rows


def highlight(rows: list[dict], q: str) -> list[dict]:
    """Search results show the query's words marked in the title and in a
    piece of the body around the first of them."""
    stems = search.query_stems(q)
    for row in rows:
        row["title_html"] = search.highlight(row["title"], stems)
        row["excerpt_html"] = search.excerpt(row.get("body") or "", stems)
    return rows
