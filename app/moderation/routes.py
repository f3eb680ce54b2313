"""Routes of the moderation domain."""

from __future__ import annotations

from litestar import Controller, Request, Response, post

from app.accounts.guards import requires_member
from app.accounts.tables import User
from app.moderation.tables import Block
from app.web import not_found, safe_next, see_other


class BlockController(Controller):
    guards = [requires_member]

    @post("/users/{user_id:int}/block")
    async def block(self, request: Request, user_id: int) -> Response:
        if user_id == request.user.id or not await User.exists().where(User.id == user_id):
            raise not_found()
        if not await Block.exists().where((Block.blocker == request.user.id) & (Block.blocked == user_id)):
            await Block.insert(Block(blocker=request.user.id, blocked=user_id))
        return see_other(f"/users/{user_id}")

    @post("/users/{user_id:int}/unblock")
    async def unblock(self, request: Request, user_id: int) -> Response:
        await Block.delete().where((Block.blocker == request.user.id) & (Block.blocked == user_id))
        return see_other(f"/users/{user_id}")


ROUTES: list = [BlockController]
