"""Routes of the moderation domain."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post

from app.accounts.guards import requires_login, requires_member
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


@get("/settings/export", guards=[requires_login])
async def export(request: Request) -> Response:
    from app.moderation.privacy import export_archive
    from app.settings import get_settings
    from app.web import limit

    limit(request, f"export:{request.user.id}", 10, 3600)
    body = await export_archive(request.user.id, get_settings().uploads_dir)
    return Response(content=body, media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="mes-donnees-voisinage.zip"',
        "Cache-Control": "private, no-store",
    })


ROUTES: list = [BlockController, export]
