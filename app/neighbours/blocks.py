"""Blocking a neighbour, and unblocking them. What a block hides, and from
whom, is app.access.blocked_ids."""

from __future__ import annotations

from litestar import Controller, Request, Response, post

from app.access import NotFound, has_blocked, requires_member
from app.accounts.tables import Block, User
from app.web import see_other


class BlockController(Controller):
    guards = [requires_member]

    @post("/users/{user_id:int}/block")
    async def block(self, request: Request, user_id: int) -> Response:
        if user_id == request.user.id or not await User.exists().where(User.id == user_id):
            raise NotFound()
        if not await has_blocked(request.user.id, user_id):
            await Block.insert(Block(blocker=request.user.id, blocked=user_id))
        return see_other(f"/users/{user_id}")

    @post("/users/{user_id:int}/unblock")
    async def unblock(self, request: Request, user_id: int) -> Response:
        await Block.delete().where((Block.blocker == request.user.id) & (Block.blocked == user_id))
        return see_other(f"/users/{user_id}")


ROUTES = [BlockController]
