"""Interest groups: a quartier's groups, open to it and its quartiers voisins
(or joined on request), with a feed of their own that only members read."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.groups.tables import GroupMember, InterestGroup
from app.notify.digest import quartier_news
from tests.factories import ensure_csrf, field_error, make_moderator, notifications_of, post_form
from tests.factories_nearby import people_of_three_quartiers
from tests.factories_posts import publish, signed_in

PARIS = ZoneInfo("Europe/Paris")


async def create_group(client, name: str = "Jardiniers des Tilleuls", joining: str = "open") -> int:
    response = await post_form(
        client, "/groups", {"name": name, "description": "Graines et boutures", "topic": "garden", "joining": joining}
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def post_in_group(client, group_id: int, title: str) -> int:
    done = await publish(client, {"kind": "discussion", "title": title, "body": "Qui a des semis ?", "group": group_id})
    assert done.status_code == 303, done.text
    return int(done.headers["location"].rsplit("/", 1)[1])


async def test_an_open_group_is_joined_by_neighbours_and_voisins_and_its_posts_stay_among_members(make_client):
    (_tilleuls, _gare, _port), (claire, hugo, paul, lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    as_paul, as_lea = await signed_in(make_client, paul), await signed_in(make_client, lea)

    group_id = await create_group(as_claire)
    assert "Jardiniers des Tilleuls" in (await as_claire.get("/groups")).text
    # Paul lives in a quartier voisin: he sees the group; Léa, farther, does not.
    assert "Jardiniers des Tilleuls" in (await as_paul.get("/groups")).text
    assert "Jardiniers des Tilleuls" not in (await as_lea.get("/groups")).text
    assert (await as_lea.get(f"/groups/{group_id}")).status_code == 404
    assert (await post_form(as_lea, f"/groups/{group_id}/join")).status_code == 404

    # Hugo joins at once with JavaScript off; Paul with htmx gets the new button in place.
    assert (await post_form(as_hugo, f"/groups/{group_id}/join")).status_code == 303
    fragment = await post_form(as_paul, f"/groups/{group_id}/join", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "Quitter le groupe" in fragment.text and "<html" not in fragment.text
    assert (await InterestGroup.select().where(InterestGroup.id == group_id).first())["member_count"] == 3

    # Claire posts in the group: members read it and are told (push by default); others do not find it.
    post_id = await post_in_group(as_claire, group_id, "Échange de semis")
    assert "Échange de semis" in (await as_hugo.get(f"/groups/{group_id}")).text
    assert (await as_paul.get(f"/posts/{post_id}")).status_code == 200
    assert (await as_lea.get(f"/posts/{post_id}")).status_code == 404
    assert [n["text"] for n in await notifications_of(hugo, "group_post")] == [
        "Claire D. a publié dans le groupe « Jardiniers des Tilleuls » : « Échange de semis »"
    ]
    # Not in the quartier's main feed, even for a member.
    assert "Échange de semis" not in (await as_hugo.get("/feed")).text

    # Paul answers from his quartier voisin.
    answered = await post_form(as_paul, f"/posts/{post_id}/replies", {"body": "J'ai des tomates"})
    assert answered.status_code == 303

    # Hugo leaves: the post is gone for him.
    assert (await post_form(as_hugo, f"/groups/{group_id}/leave")).status_code == 303
    assert (await as_hugo.get(f"/posts/{post_id}")).status_code == 404
    assert "Quitter le groupe" not in (await as_hugo.get(f"/groups/{group_id}")).text


async def test_a_non_member_cannot_publish_in_a_group_and_a_neighbour_who_is_not_a_member_does_not_read_it(
    make_client,
):
    (_tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    group_id = await create_group(as_claire)
    post_id = await post_in_group(as_claire, group_id, "Réservé aux membres")

    assert (await as_hugo.get(f"/posts/{post_id}")).status_code == 404
    assert "Réservé aux membres" not in (await as_hugo.get(f"/groups/{group_id}")).text
    refused = await publish(as_hugo, {"kind": "discussion", "title": "Intrusion", "body": "…", "group": group_id})
    assert refused.status_code == 404


async def test_a_group_on_request_is_joined_once_an_admin_accepts_and_the_requester_is_told(make_client):
    (_tilleuls, _gare, _port), (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    as_paul = await signed_in(make_client, paul)
    group_id = await create_group(as_claire, "Parents du quartier", joining="request")
    post_id = await post_in_group(as_claire, group_id, "Sortie au parc")

    assert (await post_form(as_hugo, f"/groups/{group_id}/join")).status_code == 303
    assert "Votre demande attend" in (await as_hugo.get(f"/groups/{group_id}")).text
    assert (await as_hugo.get(f"/posts/{post_id}")).status_code == 404
    assert [n["text"] for n in await notifications_of(claire, "group")] == [
        "Hugo M. demande à rejoindre le groupe « Parents du quartier »"
    ]
    # Only an admin answers: Paul, who sees the group, cannot.
    assert (await post_form(as_paul, f"/groups/{group_id}/requests/{hugo.id}", {"answer": "accept"})).status_code == 404

    page = (await as_claire.get(f"/groups/{group_id}")).text
    assert "Demandes pour rejoindre" in page and "Hugo M." in page
    accepted = await post_form(as_claire, f"/groups/{group_id}/requests/{hugo.id}", {"answer": "accept"})
    assert accepted.status_code == 303
    assert [n["text"] for n in await notifications_of(hugo, "group")] == [
        "Votre demande est acceptée : bienvenue dans le groupe « Parents du quartier »."
    ]
    assert (await as_hugo.get(f"/posts/{post_id}")).status_code == 200

    # Claire names Hugo admin: he now sees the requests.
    assert (await post_form(as_claire, f"/groups/{group_id}/admins/{hugo.id}")).status_code == 303
    await post_form(as_paul, f"/groups/{group_id}/join")
    assert "Demandes pour rejoindre" in (await as_hugo.get(f"/groups/{group_id}")).text
    refused = await post_form(as_hugo, f"/groups/{group_id}/requests/{paul.id}", {"answer": "refuse"})
    assert refused.status_code == 303
    assert [n["text"] for n in await notifications_of(paul, "group")] == [
        "Votre demande pour rejoindre le groupe « Parents du quartier » n'a pas été acceptée."
    ]
    assert "Demander à rejoindre" in (await as_paul.get(f"/groups/{group_id}")).text


async def test_a_group_s_admin_hides_a_post_like_the_quartier_s_moderators(make_client):
    (tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    moderator = await make_moderator(tilleuls)
    as_moderator = await signed_in(make_client, moderator)
    group_id = await create_group(as_claire)
    await post_form(as_hugo, f"/groups/{group_id}/join")
    post_id = await post_in_group(as_hugo, group_id, "Publicité hors sujet")

    # The quartier's moderator reads it without being a member.
    assert (await as_moderator.get(f"/posts/{post_id}")).status_code == 200
    hidden = await post_form(as_claire, f"/moderation/posts/{post_id}/hide", {"reason": "Hors sujet"})
    assert hidden.status_code == 303, hidden.text
    assert "Publicité hors sujet" not in (await as_claire.get(f"/groups/{group_id}")).text
    # A group's post is never on the quartier's feed: there is nothing to pin it on.
    assert (await post_form(as_moderator, f"/moderation/posts/{post_id}/pin")).status_code == 404


async def test_a_bad_name_is_told_next_to_the_field_and_kept(make_client):
    (_tilleuls, _gare, _port), (claire, _hugo, _paul, _lea) = await people_of_three_quartiers()
    as_claire = await signed_in(make_client, claire)
    response = await post_form(as_claire, "/groups", {"name": "Ab", "topic": "nowhere", "joining": "open"})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "3 caractères au moins."
    assert field_error(response.text, "topic") == "Choisissez une des options proposées."
    assert re.search(r'name="name"[^>]*value="Ab"', response.text)


async def test_the_last_admin_leaving_hands_the_group_to_its_oldest_member_and_an_empty_group_closes(make_client):
    (_tilleuls, _gare, _port), (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    as_paul = await signed_in(make_client, paul)
    group_id = await create_group(as_claire)
    await post_form(as_hugo, f"/groups/{group_id}/join")
    await post_form(as_paul, f"/groups/{group_id}/join")

    await post_form(as_claire, f"/groups/{group_id}/leave")
    roles = {r["member"]: r["role"] for r in await GroupMember.select().where(GroupMember.group == group_id)}
    assert roles == {hugo.id: "admin", paul.id: "member"}

    await post_form(as_hugo, f"/groups/{group_id}/leave")
    await post_form(as_paul, f"/groups/{group_id}/leave")
    assert (await as_paul.get(f"/groups/{group_id}")).status_code == 404


async def test_a_report_on_a_group_s_post_reaches_its_admins_and_the_quartier_s_moderators(make_client):
    (tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    moderator = await make_moderator(tilleuls)
    as_moderator = await signed_in(make_client, moderator)
    group_id = await create_group(as_claire)
    await post_form(as_hugo, f"/groups/{group_id}/join")
    post_id = await post_in_group(as_claire, group_id, "Annonce discutée")

    reported = await post_form(as_hugo, f"/posts/{post_id}/report", {"reason": "spam", "text": ""})
    assert reported.status_code == 303, reported.text
    assert [n["text"] for n in await notifications_of(claire, "group")] == [
        "Une annonce de votre groupe a été signalée : « Annonce discutée »"
    ]
    assert "Annonce discutée" in (await as_moderator.get("/moderation")).text


async def test_a_group_s_event_is_signed_up_to_by_members_and_stays_out_of_the_quartier_s_events_and_digest(
    make_client,
):
    (tilleuls, _gare, _port), (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    as_paul = await signed_in(make_client, paul)
    group_id = await create_group(as_claire)
    await post_form(as_paul, f"/groups/{group_id}/join")
    assert (await as_claire.get("/events/new", params={"group": group_id})).status_code == 200
    assert (await as_hugo.get("/events/new", params={"group": group_id})).status_code == 404

    starts = datetime.now(PARIS) + timedelta(days=2)
    token = await ensure_csrf(as_claire)
    made = await as_claire.post(
        "/events/new",
        data={
            "_csrf_token": token,
            "group": group_id,
            "title": "Atelier semis",
            "body": "Apportez vos graines.",
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "place": "Jardin partagé",
        },
        files={"photo": ("", b"", "application/octet-stream")},
    )
    assert made.status_code == 303, made.text
    post_id = int(made.headers["location"].rsplit("/", 1)[1])

    assert "Atelier semis" in (await as_paul.get(f"/groups/{group_id}")).text
    assert [n["text"] for n in await notifications_of(paul, "group_post")] == [
        "Claire D. a publié dans le groupe « Jardiniers des Tilleuls » : « Atelier semis »"
    ]
    # Paul, a member from the quartier voisin, signs up; Hugo, not a member, cannot.
    assert (await post_form(as_paul, f"/posts/{post_id}/signup")).status_code == 303
    assert (await post_form(as_hugo, f"/posts/{post_id}/signup")).status_code == 404
    assert "Atelier semis" not in (await as_hugo.get("/events")).text
    news = await quartier_news(
        tilleuls.id, datetime.now(PARIS) - timedelta(days=1), datetime.now(PARIS), timedelta(days=7)
    )
    assert "Atelier semis" not in str(news)


async def test_a_group_post_s_photo_opens_for_its_members_only(make_client):
    from app.posts.tables import Photo
    from tests.factories_posts import jpeg_bytes

    (_tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    as_claire, as_hugo = await signed_in(make_client, claire), await signed_in(make_client, hugo)
    group_id = await create_group(as_claire)
    done = await publish(
        as_claire,
        {"kind": "give", "title": "Plants de tomates", "body": "Pour les membres.", "group": group_id},
        files=[("photos", ("p.jpg", jpeg_bytes(600, 400), "image/jpeg"))],
    )
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    photo = (await Photo.select(Photo.name).where(Photo.post == post_id).first())["name"]

    assert (await as_claire.get(f"/photos/{photo}/thumb")).status_code == 200
    # Hugo lives in the quartier but is not a member: the photo does not exist for him.
    assert (await as_hugo.get(f"/photos/{photo}/thumb")).status_code == 404


async def test_a_help_request_in_a_group_does_not_call_the_quartier_s_skilled_neighbours(make_client):
    from app.posts import queries as posts

    (_tilleuls, _gare, _port), (claire, hugo, _paul, _lea) = await people_of_three_quartiers()
    await posts.set_skills(hugo, ["bricolage"])
    as_claire = await signed_in(make_client, claire)
    group_id = await create_group(as_claire)
    done = await publish(
        as_claire,
        {
            "kind": "help_request",
            "title": "Monter une étagère",
            "body": "Samedi ?",
            "skill": "bricolage",
            "group": group_id,
        },
    )
    assert done.status_code == 303
    # Hugo is not a member: the post does not exist for him, and nobody points him to it.
    assert await notifications_of(hugo, "help_match") == []


async def test_the_admin_of_a_big_group_reaches_every_member_and_request_a_page_at_a_time(make_client):
    from app.groups import queries as groups
    from tests.factories import make_user

    (tilleuls, _gare, _port), (claire, hugo, paul, _lea) = await people_of_three_quartiers()
    as_claire = await signed_in(make_client, claire)
    group_id = await create_group(as_claire, "Chorale des Tilleuls", joining="request")
    singers = [await make_user(tilleuls, first_name="Choriste", last_name=f"N{i:02d}") for i in range(55)]
    for singer in singers:
        await groups.join(group_id, singer.id, "member")
    for asking in (hugo, paul):
        await groups.join(group_id, asking.id, "pending")

    def admin_buttons(html: str) -> int:
        return len(re.findall(r'action="/groups/\d+/admins/', html))

    page = (await as_claire.get(f"/groups/{group_id}")).text
    assert admin_buttons(page) == 50 and "Plus de membres" in page
    more = re.search(r'href="(/groups/\d+\?members_after=\d+)"', page).group(1)
    # Without JavaScript the link opens the page with the next members; htmx gets only them.
    assert admin_buttons((await as_claire.get(more)).text) == 5
    fragment = await as_claire.get(more, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div class="people-page">') and admin_buttons(fragment.text) == 5
    assert "Plus de membres" not in fragment.text

    # An answer through htmx comes back as the person's line, saying where they stand now.
    htmx = {"HX-Request": "true"}
    accepted = await post_form(as_claire, f"/groups/{group_id}/requests/{hugo.id}", {"answer": "accept"}, headers=htmx)
    assert accepted.status_code == 200
    assert re.sub(r"\s+", " ", accepted.text).strip().startswith("<li>Hugo M. <span")
    assert "Fait partie du groupe" in accepted.text
    named = await post_form(as_claire, f"/groups/{group_id}/admins/{singers[-1].id}", headers=htmx)
    assert "Choriste N. " in named.text and "Administre le groupe" in named.text
    refused = await post_form(as_claire, f"/groups/{group_id}/requests/{paul.id}", {"answer": "refuse"}, headers=htmx)
    assert "Ne fait pas partie du groupe" in refused.text
    # Any account's id, posted by an admin, gives away no name.
    stranger = await post_form(as_claire, f"/groups/{group_id}/admins/{_lea.id}", headers=htmx)
    assert "Léa" not in stranger.text and "Ne fait pas partie du groupe" in stranger.text
    # A second admin answering the same request late is shown what the first decided.
    late = await post_form(as_claire, f"/groups/{group_id}/requests/{hugo.id}", {"answer": "refuse"}, headers=htmx)
    assert "Fait partie du groupe" in late.text
    assert await GroupMember.select(GroupMember.role).where(
        (GroupMember.group == group_id) & (GroupMember.member == hugo.id)
    ).first() == {"role": "member"}
