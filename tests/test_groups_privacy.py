"""Groups and the RGPD: the export holds a neighbour's groups and group
posts; erasure takes them out of every group, which goes on under its oldest
member or closes when nobody is left."""

from __future__ import annotations

import io
import json
import zipfile

from app.groups.tables import GroupMember, InterestGroup
from app.privacy.queries import erase_account
from tests.factories import post_form
from tests.factories_posts import neighbours, publish, signed_in


async def test_export_holds_my_groups_and_my_posts_in_them(make_client):
    _hood, (claire, hugo) = await neighbours(2)
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    made = await post_form(as_hugo, "/groups", {"name": "Seniors actifs", "topic": "seniors", "joining": "open"})
    group_id = int(made.headers["location"].rsplit("/", 1)[1])
    await post_form(as_claire, f"/groups/{group_id}/join")
    await publish(as_claire, {"kind": "discussion", "title": "Marche jeudi", "body": "Départ 10 h", "group": group_id})

    archive = zipfile.ZipFile(io.BytesIO((await as_claire.get("/settings/export")).content))
    data = json.loads(archive.read("voisinage.json"))
    assert [(g["name"], g["role"]) for g in data["groups"]] == [("Seniors actifs", "member")]
    assert [(p["title"], p["group"]) for p in data["posts"]] == [("Marche jeudi", group_id)]


async def test_erasure_hands_a_group_to_its_oldest_member_and_closes_a_group_left_empty(make_client):
    _hood, (claire, hugo, paul) = await neighbours(3)
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    as_paul = await signed_in(make_client, paul)
    made = await post_form(as_claire, "/groups", {"name": "Parents", "topic": "parents", "joining": "open"})
    shared = int(made.headers["location"].rsplit("/", 1)[1])
    made = await post_form(as_claire, "/groups", {"name": "Mon club", "topic": "culture", "joining": "open"})
    alone = int(made.headers["location"].rsplit("/", 1)[1])
    await post_form(as_hugo, f"/groups/{shared}/join")
    await post_form(as_paul, f"/groups/{shared}/join")

    await erase_account(claire.id)

    roles = {r["member"]: r["role"] for r in await GroupMember.select().where(GroupMember.group == shared)}
    assert roles == {hugo.id: "admin", paul.id: "member"}
    assert not await GroupMember.exists().where(GroupMember.member == claire.id)
    assert (await InterestGroup.select().where(InterestGroup.id == alone).first())["status"] == "closed"
    assert (await as_hugo.get(f"/groups/{alone}")).status_code == 404
    assert "Mon club" not in (await as_hugo.get("/groups")).text
