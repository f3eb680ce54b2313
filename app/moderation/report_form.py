"""The one report form, for every domain that lets a neighbour report what
they see (posts, replies, messages, profiles, alerts): its page and how its
answer is read, under the shared report budget. A page module, so that
domains use it without importing another domain's routes."""

from __future__ import annotations

from litestar import Request, Response

from app.forms import Form
from app.moderation.reports import REASONS
from app.web import limit, render


def report_page(request: Request, target: dict, form: Form, status_code: int = 200) -> Response:
    """The one report form, whatever is reported (posts included)."""
    return render(
        request, "moderation/report.html", {"form": form, "target": target, "reasons": REASONS}, status_code=status_code
    )


async def read_report(request: Request) -> tuple[Form, str, str]:
    await limit(f"report:{request.user.id}", 30, 3600)
    form = Form(await request.form())
    reason = form.choice("reason", tuple(REASONS))
    text = form.text("text", max_length=1000, required=reason == "other", multiline=True)
    return form, reason, text
