"""Private messages: /messages, one conversation, writing to a neighbour."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException

from app import live
from app.access import NotFound, blocked_ids, can_reach, in_conversation, lives_in, message_refusal, requires_member
from app.accounts.queries import user_by_id
from app.accounts.sessions import still_signed_in
from app.forms import Form
from app.i18n import _
from app.messages import queries
from app.neighbourhoods import queries as neighbourhoods
from app.notify.queries import notify
from app.posts.kinds import display_name
from app.posts.tables import Post
from app.web import limit, parse_id, render, render_fragment, see_other, wants_fragment

BODY_MAX = 2000


async def _recipient(request: Request, raw: str | None):
    """A neighbour of the same quartier who has not blocked (nor been blocked by) the sender."""
    recipient_id = parse_id(raw)
    recipient = await user_by_id(recipient_id) if recipient_id else None
    if not await can_reach(request.user, recipient):
        raise NotFound()
    return recipient


async def _about(request: Request, raw: str | None) -> dict | None:
    if not raw:
        return None
    post_id = parse_id(raw)
    if post_id is None:
        raise NotFoundException()
    found = await Post.select(Post.id, Post.title, Post.neighbourhood).where(Post.id == post_id).first()
    if found is None or not lives_in(request.user, found["neighbourhood"]):
        raise NotFound()
    return found


class MessageController(Controller):
    guards = [requires_member]

    @get("/messages")
    async def index(self, request: Request) -> Response:
        conversations = await queries.inbox(request.user.id, await blocked_ids(request.user))
        return render(request, "messages/index.html", {"conversations": conversations})

    @get("/messages/new")
    async def new(self, request: Request) -> Response:
        recipient = await _recipient(request, request.query_params.get("to"))
        about = await _about(request, request.query_params.get("post"))
        form = Form({"to": str(recipient.id), "post": str(about["id"]) if about else ""})
        if request.query_params.get("welcome") == "1":
            # From « Nouveaux voisins »: a friendly start, theirs to change before sending.
            form.data["body"] = _(
                "Bonjour %(name)s, bienvenue dans le quartier ! N'hésitez pas si vous avez une question.",
                name=recipient.first_name,
            )
        return render(request, "messages/new.html", {"form": form, "recipient": recipient, "about": about})

    @post("/messages")
    async def create(self, request: Request) -> Response:
        me = request.user
        form = Form(await request.form())
        recipient = await _recipient(request, form["to"])
        about = await _about(request, form["post"])
        await limit(f"message:{me.id}", 60, 3600)
        body = form.text("body", max_length=BODY_MAX, multiline=True)
        if not await queries.has_written_to(me.id, recipient.id):
            refusal = message_refusal(me, await neighbourhoods.by_id(me.neighbourhood))
            if refusal:
                form.error("body", refusal)
        if form.errors:
            return render(
                request, "messages/new.html", {"form": form, "recipient": recipient, "about": about}, status_code=422
            )
        conversation_id = await queries.send(me.id, recipient.id, body, post_id=about["id"] if about else None)
        await _tell(me, recipient.id, conversation_id)
        return see_other(f"/messages/{conversation_id}")

    @get("/messages/{conversation_id:int}")
    async def show(self, request: Request, conversation_id: int) -> Response:
        """Opening a conversation reads it, with or without JavaScript.

        Marking one's own messages read is the one change this GET makes, as
        in every messaging product: one's own counter only, seen by nobody
        else, the same when repeated. A request the page sent on load would
        never come from a browser with JavaScript off."""
        conversation = await self._mine(request, conversation_id)
        if "before" not in request.query_params and _unread(conversation, request.user.id):
            await queries.mark_read(conversation, request.user.id)
        return await _render_conversation(request, conversation, Form())

    @post("/messages/{conversation_id:int}")
    async def reply(self, request: Request, conversation_id: int) -> Response:
        me = request.user
        conversation = await self._mine(request, conversation_id)
        other = conversation["user_b"] if conversation["user_a"] == me.id else conversation["user_a"]
        await limit(f"message:{me.id}", 60, 3600)
        form = Form(await request.form())
        body = form.text("body", max_length=BODY_MAX, multiline=True)
        if other is None:
            form.error("body", _("Cette personne a quitté Voisinage."))
        elif other in await blocked_ids(me):
            raise NotFound()
        if form.errors:
            return await _render_conversation(request, conversation, form, status_code=422)
        await queries.send(me.id, other, body, conversation_id=conversation_id)
        await queries.mark_read(conversation, me.id)
        await _tell(me, other, conversation_id)
        if wants_fragment(request):
            return await _render_conversation(request, conversation, Form())
        return see_other(f"/messages/{conversation_id}#last")

    @post("/messages/{conversation_id:int}/read")
    async def read(self, request: Request, conversation_id: int) -> Response:
        conversation = await self._mine(request, conversation_id)
        await queries.mark_read(conversation, request.user.id)
        if wants_fragment(request):
            return Response(content="", status_code=200)
        return see_other(f"/messages/{conversation_id}")

    @get("/messages/{conversation_id:int}/stream", opt=live.STREAM_OPT)
    async def live_news(self, request: Request, conversation_id: int) -> Response:
        """The open conversation's new messages, for its two people only."""
        conversation = await self._mine(request, conversation_id)

        async def news(me, after: int) -> tuple[str, int] | None:
            if not in_conversation(me, conversation):
                return None
            found = await queries.messages_after(conversation_id, after, blocked=await blocked_ids(me))
            if not found:
                return "", after
            context = {"conversation": conversation, "messages": found, "me": me}
            return render_fragment(request, "messages/_live.html", context), found[-1]["id"]

        return live.stream(request, queries.live_topic(conversation_id), lambda: still_signed_in(request), news)

    async def _mine(self, request: Request, conversation_id: int) -> dict:
        conversation = await queries.conversation_by_id(conversation_id)
        if not in_conversation(request.user, conversation):
            raise NotFound()
        return conversation


async def _tell(sender, recipient_id: int, conversation_id: int) -> None:
    await notify(
        [recipient_id],
        "message",
        url=f"/messages/{conversation_id}",
        actor_id=sender.id,
        params={"who": display_name(sender.first_name, sender.last_name)},
    )


def _unread(conversation: dict, user_id: int) -> int:
    return conversation["a_unread"] if conversation["user_a"] == user_id else conversation["b_unread"]


async def _render_conversation(request: Request, conversation: dict, form: Form, status_code: int = 200) -> Response:
    me = request.user
    other_id = conversation["user_b"] if conversation["user_a"] == me.id else conversation["user_a"]
    other = await user_by_id(other_id) if other_id else None
    messages, older = await queries.messages_of(conversation["id"], before=parse_id(request.query_params.get("before")))
    context = {"conversation": conversation, "messages": messages, "older": older, "other": other, "form": form}
    # Paging back shows older messages: new ones do not belong there.
    context["live"] = "before" not in request.query_params
    return render(
        request, "messages/show.html", context, fragment="messages/_conversation.html", status_code=status_code
    )


ROUTES = [MessageController]
