"""What other domains add to the page of a post, without the posts package
knowing them: events add the signup panel, moderation adds its controls.

A contributor is an async function (post, viewer) -> dict merged into the
template context; its template is included after the post's body, in the
order registered. Contributors run only on the page of one post, never per
item of a list, so they cannot cause N+1 queries in the feed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Contributor = Callable[[dict, Any], Awaitable[dict]]

_post_panels: list[tuple[str, Contributor]] = []


def add_post_panel(template: str, contributor: Contributor) -> None:
    if all(t != template for t, _ in _post_panels):
        _post_panels.append((template, contributor))


async def post_panels(post: dict, viewer: Any) -> tuple[list[str], dict]:
    """The templates to include under the post and the context they need."""
    templates: list[str] = []
    context: dict = {}
    for template, contributor in _post_panels:
        extra = await contributor(post, viewer)
        if extra is not None:
            templates.append(template)
            context.update(extra)
    return templates, context
