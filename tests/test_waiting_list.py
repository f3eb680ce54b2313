"""The waiting list keeps addresses private: a forming quartier is named after
a street, never after the door of the neighbour who started it."""

from __future__ import annotations

import re
import uuid

from app.accounts import queries as accounts
from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from tests.factories import make_user, post_form

FIRST = "12 boulevard des valendons dijon"
SECOND = "40 boulevard des valendons dijon"


async def _wait_at(make_client, first_name: str, address: str):
    client = await make_client()
    email = f"{first_name.lower()}.{uuid.uuid4().hex[:8]}@exemple.fr"
    await post_form(
        client,
        "/signup",
        {"first_name": first_name, "last_name": "Dupré", "email": email, "password": "les tilleuls de la place"},
    )
    found = await client.get("/signup/address", params={"q": address})
    candidate = re.search(r'name="candidate" value="([^"]+)"', found.text).group(1)
    joined = await post_form(client, "/signup/address", {"q": address, "candidate": candidate, "join_waitlist": "1"})
    assert joined.status_code == 303
    return client, await accounts.user_by_email(email)


async def test_the_next_neighbour_waiting_never_sees_the_first_ones_address(make_client):
    first, bérénice = await _wait_at(make_client, "Bérénice", FIRST)
    assert "Quartier en formation : Boulevard des Valendons" in (await first.get("/feed")).text

    second, _gaston = await _wait_at(make_client, "Gaston", SECOND)
    for path in ("/feed", f"/users/{bérénice.id}"):
        seen = await second.get(path)
        assert seen.status_code == 200, path
        assert "Boulevard des Valendons" in seen.text and "12 Boulevard des Valendons" not in seen.text, path
    neighbourhood = (
        await Neighbourhood.select(Neighbourhood.name, Neighbourhood.slug, Neighbourhood.member_count)
        .where(Neighbourhood.name == "Boulevard des Valendons")
        .first()
    )
    assert neighbourhood["member_count"] >= 2 and not re.search(r"\d", neighbourhood["slug"])


async def test_quartiers_already_named_after_an_address_are_renamed_by_the_migration():
    from migrations.voisinage_0007_forming_names import forwards

    city = f"Bourg-{uuid.uuid4().hex[:6]}"
    old = await neighbourhoods.join_waitlist(
        await make_user(), f"7 bis Rue des Tanneurs, 01000 {city}", 46.2, 5.22, city, "01000"
    )
    # As the waiting list named them before: the first neighbour's house number in the name and the slug.
    await Neighbourhood.update(
        {
            Neighbourhood.name: "7 bis Rue des Tanneurs",
            Neighbourhood.slug: neighbourhoods._slugify(f"{city}-7 bis Rue des Tanneurs"),
        }
    ).where(Neighbourhood.id == old.id)
    imported = await neighbourhoods.upsert(
        {
            "type": "Feature",
            "geometry": geometry.circle_polygon(46.2, 5.22, 300),
            "properties": {
                "slug": f"trois-cites-{uuid.uuid4().hex[:6]}",
                "name": "3 Cités",
                "city": city,
                "postcode": "01000",
            },
        }
    )

    await (await forwards()).run()

    renamed = await neighbourhoods.by_id(old.id)
    assert renamed.name == "Rue des Tanneurs" and renamed.slug.startswith(
        f"{neighbourhoods._slugify(city)}-rue-des-tanneurs"
    )
    assert (await neighbourhoods.by_id(imported.id)).name == "3 Cités"
