"""Recommendations: a neighbour recommends a local business, others add
« Moi aussi »; the list ranks entries by how many different address-checked
neighbours of the quartier and its quartiers voisins recommend them."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
import zipfile

import pytest

from app.accounts.tables import User
from app.moderation.tables import ModerationAction, Report
from app.recommendations import queries
from app.recommendations.tables import Business, Recommendation
from tests.factories import field_error, input_value, make_moderator, make_user, post_form
from tests.factories_nearby import people_of_three_quartiers
from tests.factories_posts import signed_in


def fresh(name: str) -> str:
    """A business name of this test alone (the tables are shared by the tests)."""
    return f"{name} {uuid.uuid4().hex[:6]}"


async def recommend(client, name: str, **fields):
    data = {"name": name, "category": "plombier", "commune": "Testville", "text": "Rapide et honnête."}
    data.update(fields)
    return await post_form(client, "/recommendations", data)


def entry_id(response) -> int:
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1])


def listed(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<h3><a href=\"/recommendations/\d+\">(.*?)</a></h3>", html)]


async def test_a_second_neighbour_saying_moi_aussi_raises_the_count_and_ranks_it_first(make_client):
    _hoods, (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    plumber, electrician = fresh("Plomberie Martin"), fresh("Élec Dubois")
    plumber_id = entry_id(await recommend(claire_client, plumber, phone="+33 1 23 45 67 89"))
    electrician_id = entry_id(await recommend(claire_client, electrician, category="electricien"))

    page = await claire_client.get(f"/recommendations/{plumber_id}")
    assert page.status_code == 200 and "Recommandé par 1 voisin" in page.text
    assert "01 23 45 67 89" in page.text and "Rapide et honnête." in page.text

    # Hugo (same quartier) and Paul (from La Gare, a quartier voisin) back the electrician.
    for who in (hugo, paul):
        client = await signed_in(make_client, who)
        done = await post_form(client, f"/recommendations/{electrician_id}/me-too", {"text": "Très bien aussi."})
        assert done.status_code == 303
    page = await claire_client.get(f"/recommendations/{electrician_id}")
    assert "Recommandé par 3 voisins" in page.text

    # A second try edits Paul's word instead of counting twice.
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/recommendations/{electrician_id}/me-too", {"text": "Revenu, toujours top."})
    page = await claire_client.get(f"/recommendations/{electrician_id}")
    assert "Recommandé par 3 voisins" in page.text and "Revenu, toujours top." in page.text
    assert "Très bien aussi." in page.text  # Hugo's
    assert await Recommendation.count().where(Recommendation.business == electrician_id) == 3

    ranking = listed((await claire_client.get("/recommendations")).text)
    assert ranking.index(electrician) < ranking.index(plumber)


async def test_a_far_quartier_neither_counts_nor_sees_and_voisins_see_across(make_client):
    _hoods, (claire, _hugo, paul, lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    baker = fresh("Fournil des Tilleuls")
    baker_id = entry_id(await recommend(claire_client, baker, category="boulangerie"))

    # Léa lives in Le Port, 2 km away: the entry does not exist for her.
    lea_client = await signed_in(make_client, lea)
    assert (await lea_client.get(f"/recommendations/{baker_id}")).status_code == 404
    assert baker not in (await lea_client.get("/recommendations")).text
    refused = await post_form(lea_client, f"/recommendations/{baker_id}/me-too", {"text": "Moi aussi"})
    assert refused.status_code == 404

    # Léa recommends the same bakery on her side: one entry, her word stays in Le Port.
    same = await recommend(lea_client, baker.upper(), category="boulangerie", text="Pain du Port.")
    assert entry_id(same) == baker_id
    page = await claire_client.get(f"/recommendations/{baker_id}")
    assert "Recommandé par 1 voisin" in page.text and "Pain du Port." not in page.text

    # Paul, from La Gare (a quartier voisin), sees Claire's entry.
    paul_client = await signed_in(make_client, paul)
    assert baker in (await paul_client.get("/recommendations?category=boulangerie")).text


async def test_only_address_checked_neighbours_count(make_client):
    _hoods, (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    garage = fresh("Garage du Pont")
    garage_id = entry_id(await recommend(claire_client, garage, category="garagiste"))
    hugo_client = await signed_in(make_client, hugo)
    await post_form(hugo_client, f"/recommendations/{garage_id}/me-too", {"text": ""})
    assert "Recommandé par 2 voisins" in (await claire_client.get(f"/recommendations/{garage_id}")).text
    # Hugo's address turns out unchecked: he no longer counts, and may not recommend.
    await User.update({User.verification: "none"}).where(User.id == hugo.id)
    assert "Recommandé par 1 voisin" in (await claire_client.get(f"/recommendations/{garage_id}")).text
    assert (await post_form(hugo_client, "/recommendations", {"name": "X"})).status_code == 403


async def test_duplicates_merge_by_name_and_commune_and_the_form_offers_the_existing_entry(make_client):
    _hoods, (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    name = fresh("Serrurerie Dupont")
    first = entry_id(await recommend(claire_client, name, category="serrurier", phone="01 11 22 33 44"))

    hugo_client = await signed_in(make_client, hugo)
    offered = await hugo_client.get(
        "/recommendations/similar", params={"name": name.lower()[:12]}, headers={"HX-Request": "true"}
    )
    assert "Déjà recommandé" in offered.text and f"/recommendations/{first}" in offered.text
    # Spelt otherwise, without a phone: the same entry.
    merged = await recommend(hugo_client, f"  {name.upper()}- ", category="serrurier", commune="testville")
    assert entry_id(merged) == first
    # Same name and commune but another phone: another business.
    other = await recommend(hugo_client, name, category="serrurier", phone="0655443322")
    assert entry_id(other) != first
    assert (
        await Business.count().where(
            Business.name_key == (await Business.select().where(Business.id == first).first())["name_key"]
        )
        == 2
    )


async def test_neighbours_naming_the_same_business_at_once_make_one_entry():
    hoods, _people = await people_of_three_quartiers()
    people = [await make_user(hoods[0], first_name=f"Voisin{i}") for i in range(6)]
    name = fresh("Épicerie du Coin")
    ids = await asyncio.gather(
        *(
            queries.recommend(p, name=name, category="epicerie", commune="Testville", phone="", website="", text="Oui")
            for p in people
        )
    )
    assert len(set(ids)) == 1
    assert await Recommendation.count().where(Recommendation.business == ids[0]) == 6


async def test_bad_phone_website_and_empty_name_are_told_at_the_field_with_the_input_kept(make_client):
    _hoods, (claire, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    answer = await recommend(client, "", phone="12345", website="javascript:alert(1)", commune="Lyon")
    assert answer.status_code == 422
    assert field_error(answer.text, "name") == "Ce champ est obligatoire."
    assert "numéro français" in field_error(answer.text, "phone")
    assert "https://" in field_error(answer.text, "website")
    assert input_value(answer.text, "phone") == "12345" and input_value(answer.text, "commune") == "Lyon"
    no_category = await recommend(client, fresh("Chez Jo"), category="astrologue")
    assert no_category.status_code == 422 and field_error(no_category.text, "category")


async def test_the_business_own_account_cannot_recommend_itself(make_client):
    hoods, _people = await people_of_three_quartiers()
    owner = await make_user(hoods[0], first_name="Jo", email=f"jo.{uuid.uuid4().hex[:6]}@fournil-jo.fr")
    client = await signed_in(make_client, owner)
    refused = await recommend(client, fresh("Fournil Jo"), website="https://www.fournil-jo.fr/")
    assert refused.status_code == 422 and "propre entreprise" in field_error(refused.text, "website")
    assert input_value(refused.text, "website") == "https://www.fournil-jo.fr/"
    # A webmail address shares nothing with a website.
    gmail = await make_user(hoods[0], first_name="Max", email=f"max.{uuid.uuid4().hex[:6]}@gmail.com")
    other = await signed_in(make_client, gmail)
    assert (await recommend(other, fresh("Site Gmail"), website="https://gmail.com")).status_code == 303


async def test_search_and_category_filter(make_client):
    _hoods, (claire, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    tag = uuid.uuid4().hex[:6]
    await recommend(client, f"Coiffure Zoé {tag}", category="coiffeur", text="Coupes pour enfants très douces.")
    await recommend(client, f"Docteur Lambert {tag}", category="medecin", text="Écoute les patients.")
    found = listed((await client.get("/recommendations", params={"q": "enfant"})).text)
    assert f"Coiffure Zoé {tag}" in found and f"Docteur Lambert {tag}" not in found
    found = listed((await client.get("/recommendations", params={"q": f"lambert {tag}"})).text)
    assert found == [f"Docteur Lambert {tag}"]
    medecins = listed((await client.get("/recommendations", params={"category": "medecin"})).text)
    assert f"Docteur Lambert {tag}" in medecins and f"Coiffure Zoé {tag}" not in medecins


async def test_the_list_pages_by_rank_then_id(make_client):
    _hoods, (claire, hugo, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    names = [fresh(f"Jardinier {i}") for i in range(23)]
    ids = [entry_id(await recommend(client, n, category="jardinier")) for n in names]
    hugo_client = await signed_in(make_client, hugo)
    await post_form(hugo_client, f"/recommendations/{ids[0]}/me-too", {"text": ""})
    first = await client.get("/recommendations", params={"category": "jardinier"})
    page_one = listed(first.text)
    assert page_one[0] == names[0] and len(page_one) == 20
    next_url = re.search(r'<a href="(/recommendations\?[^"]*after=[^"]*)"', first.text).group(1).replace("&amp;", "&")
    page_two = listed((await client.get(next_url, headers={"HX-Request": "true"})).text)
    assert len(page_two) == 3 and not set(page_one) & set(page_two)
    assert set(page_one + page_two) == set(names)


async def test_withdrawing_the_last_recommendation_removes_the_entry(make_client):
    _hoods, (claire, hugo, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    business_id = entry_id(await recommend(client, fresh("Peinture Lili"), category="peintre"))
    hugo_client = await signed_in(make_client, hugo)
    assert (await post_form(hugo_client, f"/recommendations/{business_id}/withdraw")).status_code == 404
    gone = await post_form(client, f"/recommendations/{business_id}/withdraw")
    assert gone.status_code == 303 and gone.headers["location"] == "/recommendations"
    assert not await Business.exists().where(Business.id == business_id)
    assert (await client.get(f"/recommendations/{business_id}")).status_code == 404
    # With htmx, the panel is not replaced by the list: the browser goes to it.
    again = entry_id(await recommend(client, fresh("Peinture Lou"), category="peintre"))
    gone = await post_form(client, f"/recommendations/{again}/withdraw", headers={"HX-Request": "true"})
    assert gone.status_code == 200 and gone.headers["hx-redirect"] == "/recommendations" and not gone.text


async def test_report_and_a_moderator_hides_so_it_no_longer_counts(make_client):
    hoods, (claire, hugo, *_rest) = await people_of_three_quartiers()
    moderator = await make_moderator(hoods[0])
    client = await signed_in(make_client, claire)
    business_id = entry_id(await recommend(client, fresh("Boucherie Léon"), category="boucherie"))
    hugo_client = await signed_in(make_client, hugo)
    await post_form(hugo_client, f"/recommendations/{business_id}/me-too", {"text": "Publicité déguisée !"})
    hugos = (
        await Recommendation.select()
        .where((Recommendation.business == business_id) & (Recommendation.author == hugo.id))
        .first()
    )["id"]

    reported = await post_form(
        client, f"/recommendations/{business_id}/report", {"recommendation": str(hugos), "reason": "spam"}
    )
    assert reported.status_code == 303 and "notice=reported" in reported.headers["location"]
    assert await Report.exists().where((Report.target_type == "recommend") & (Report.target_id == hugos))
    # A neighbour may not hide; the quartier's moderator may.
    assert (
        await post_form(client, f"/recommendations/{business_id}/hide", {"recommendation": str(hugos)})
    ).status_code == 403
    mod_client = await signed_in(make_client, moderator)
    queue = await mod_client.get("/moderation")
    assert f"/recommendations/said/{hugos}" in queue.text
    hidden = await post_form(mod_client, f"/recommendations/{business_id}/hide", {"recommendation": str(hugos)})
    assert hidden.status_code == 303
    page = await client.get(f"/recommendations/{business_id}")
    assert "Recommandé par 1 voisin" in page.text and "Publicité déguisée" not in page.text
    assert "Recommandation masquée" in (await mod_client.get("/moderation/log")).text
    assert await ModerationAction.exists().where(
        (ModerationAction.action == "hide_recommendation") & (ModerationAction.target_id == hugos)
    )


async def test_a_report_without_its_reason_comes_back_with_the_message_at_the_field_and_nothing_filed(make_client):
    hoods, (claire, hugo, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    business_id = entry_id(await recommend(client, fresh("Garage du Pont"), category="garagiste"))
    hugo_client = await signed_in(make_client, hugo)
    await post_form(hugo_client, f"/recommendations/{business_id}/me-too", {"text": "Rien à voir, achetez ma voiture"})
    hugos = (
        await Recommendation.select()
        .where((Recommendation.business == business_id) & (Recommendation.author == hugo.id))
        .first()
    )["id"]

    # « Autre » says nothing of what is wrong: the moderators could not act on it.
    vague = await post_form(
        client, f"/recommendations/{business_id}/report", {"recommendation": str(hugos), "reason": "other", "text": ""}
    )
    assert vague.status_code == 422
    assert field_error(vague.text, "text")
    assert "Signaler une recommandation" in vague.text and "achetez ma voiture" in vague.text
    assert f'name="recommendation" value="{hugos}"' in vague.text
    # A reason that is not on the list: the message is at the reasons, the words kept.
    forged = await post_form(
        client,
        f"/recommendations/{business_id}/report",
        {"recommendation": str(hugos), "reason": "boring", "text": "Ce n'est pas une recommandation"},
    )
    assert forged.status_code == 422
    assert field_error(forged.text, "reason")
    assert "Ce n&#39;est pas une recommandation" in forged.text or "Ce n'est pas une recommandation" in forged.text
    assert not await Report.exists().where((Report.target_type == "recommend") & (Report.target_id == hugos))

    # Sent again from that page, with what it asked for: filed.
    sent = await post_form(
        client,
        f"/recommendations/{business_id}/report",
        {"recommendation": str(hugos), "reason": "other", "text": "Une annonce de vente, pas un avis"},
    )
    assert sent.status_code == 303 and "notice=reported" in sent.headers["location"]
    assert await Report.exists().where((Report.target_type == "recommend") & (Report.target_id == hugos))


async def test_export_holds_my_recommendations_and_erasure_removes_them(make_client):
    _hoods, (claire, hugo, *_rest) = await people_of_three_quartiers()
    client = await signed_in(make_client, claire)
    hugo_client = await signed_in(make_client, hugo)
    mine = entry_id(await recommend(client, fresh("Kiné Sabine"), category="kine", text="Super kiné."))
    shared = entry_id(await recommend(hugo_client, fresh("Pharmacie Centrale"), category="pharmacie"))
    await post_form(client, f"/recommendations/{shared}/me-too", {"text": "Toujours de bon conseil."})

    archive = zipfile.ZipFile(io.BytesIO((await client.get("/settings/export")).content))
    data = json.loads(archive.read("voisinage.json"))
    assert [(r["text"], r["started_entry"]) for r in data["recommendations"]] == [
        ("Super kiné.", True),
        ("Toujours de bon conseil.", False),
    ]

    gone = await post_form(client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303
    assert not await Business.exists().where(Business.id == mine)
    assert await Business.exists().where(Business.id == shared)
    assert await Recommendation.count().where(Recommendation.business == shared) == 1


ROLES = ("owner", "neighbour", "voisin", "far", "anonymous")
LOGIN = "login"
MATRIX = {
    "list": ("found", "found", "found", "not found", LOGIN),
    "entry": (200, 200, 200, 404, LOGIN),
    "new form": (200, 200, 200, 200, LOGIN),
    "similar": ("found", "found", "found", "not found", LOGIN),
    "create": (303, 303, 303, 303, LOGIN),
    "me too": (303, 303, 303, 404, LOGIN),
    "withdraw": (303, 404, 404, 404, LOGIN),
    "report": (303, 303, 303, 404, LOGIN),
    "hide": (403, 403, 403, 404, LOGIN),
    "said": (404, 404, 404, 404, LOGIN),
}


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
async def test_recommendation_routes_answer_only_the_quartier_and_its_voisins(make_client, route, role_index):
    _hoods, (owner, neighbour, voisin, far) = await people_of_three_quartiers()
    owner_client = await signed_in(make_client, owner)
    name = fresh("Menuiserie Secrète")
    business_id = entry_id(await recommend(owner_client, name, category="menuisier", text="Secret du quartier"))
    word = (await Recommendation.select().where(Recommendation.business == business_id).first())["id"]
    role = ROLES[role_index]
    people = {"owner": owner, "neighbour": neighbour, "voisin": voisin, "far": far}
    client = await make_client()
    if role != "anonymous":
        client = await signed_in(make_client, people[role])
    calls = {
        "list": lambda: client.get("/recommendations"),
        "entry": lambda: client.get(f"/recommendations/{business_id}"),
        "new form": lambda: client.get("/recommendations/new"),
        "similar": lambda: client.get(
            "/recommendations/similar", params={"name": name}, headers={"HX-Request": "true"}
        ),
        "create": lambda: recommend(client, fresh("Autre"), category="autre"),
        "me too": lambda: post_form(client, f"/recommendations/{business_id}/me-too", {"text": "Oui"}),
        "withdraw": lambda: post_form(client, f"/recommendations/{business_id}/withdraw"),
        "report": lambda: post_form(
            client, f"/recommendations/{business_id}/report", {"recommendation": str(word), "reason": "spam"}
        ),
        "hide": lambda: post_form(client, f"/recommendations/{business_id}/hide", {"recommendation": str(word)}),
        "said": lambda: client.get(f"/recommendations/said/{word}"),
    }
    response = await calls[route]()
    expected = MATRIX[route][role_index]
    if expected == LOGIN and route == "similar":
        # htmx asked: the whole window goes to the login page.
        assert response.status_code == 401 and response.headers["hx-redirect"].startswith("/login")
    elif expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    elif expected == "found":
        assert response.status_code == 200 and name in response.text
    elif expected == "not found":
        assert response.status_code == 200 and name not in response.text
    else:
        assert response.status_code == expected, response.text[:300]
    if expected == 404:
        assert name not in response.text and "Secret du quartier" not in response.text


async def test_the_words_of_someone_i_blocked_are_not_shown_to_me_but_still_count(make_client):
    from app.accounts.tables import Block

    _hoods, (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    bakery = entry_id(await recommend(claire_client, fresh("Boulangerie Lune"), category="boulangerie"))
    hugo_client = await signed_in(make_client, hugo)
    await post_form(hugo_client, f"/recommendations/{bakery}/me-too", {"text": "Le pain au levain est parfait."})
    assert "Le pain au levain est parfait." in (await claire_client.get(f"/recommendations/{bakery}")).text

    await Block.insert(Block(blocker=claire.id, blocked=hugo.id))
    page = await claire_client.get(f"/recommendations/{bakery}")
    assert "Le pain au levain est parfait." not in page.text
    assert "Recommandé par 2 voisins" in page.text


async def test_a_neighbour_recommending_without_end_is_stopped_for_the_hour(make_client):
    _hoods, (claire, _hugo, _paul, _lea) = await people_of_three_quartiers()
    claire_client = await signed_in(make_client, claire)
    for n in range(30):
        assert (await recommend(claire_client, fresh(f"Commerce {n}"))).status_code == 303
    refused = await recommend(claire_client, fresh("Commerce de trop"))
    assert refused.status_code == 429
