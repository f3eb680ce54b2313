"""Polls on discussions: asking the quartier, voting, changing one's mind,
results after one's vote and for everyone at close; and the poll's place in
the export, erasure and moderation."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.polls import queries
from app.polls.tables import Poll, PollOption, PollVote
from tests.factories import field_error, input_value, make_moderator, post_form
from tests.factories_posts import neighbours, publish, signed_in

PARIS = ZoneInfo("Europe/Paris")


def _in_days(days: int) -> str:
    return (datetime.now(PARIS).date() + timedelta(days=days)).isoformat()


def _discussion(**poll) -> dict:
    return {
        "kind": "discussion",
        "title": "Fête des voisins : quel jour ?",
        "body": "Dites-nous ce qui vous arrange.",
        "poll_option_1": "Samedi",
        "poll_option_2": "Dimanche",
        "poll_option_3": "Vendredi soir",
        "poll_multiple": "0",
        "poll_closes_on": _in_days(7),
        **poll,
    }


async def _ask(client, **poll) -> int:
    done = await publish(client, _discussion(**poll))
    assert done.status_code == 303, done.text[:500]
    return int(done.headers["location"].rsplit("/", 1)[1])


async def _options(post_id: int) -> dict[str, int]:
    poll = await queries.for_post(post_id)
    return {o["label"]: o["id"] for o in await queries.options_of(poll["id"])}


def _results(page: str) -> dict[str, str]:
    """Each option's line of results, as a reader sees it ("1 vote · 100 %")."""
    block = page.split('class="poll-results"', 1)[1].split("</ul>", 1)[0] if "poll-results" in page else ""
    found = {}
    for item in block.split("<li")[1:]:
        label = html.unescape(re.search(r'class="poll-label">([^<]*)', item).group(1)).strip()
        found[label] = html.unescape(re.search(r'class="poll-count">([^<]*)', item).group(1)).strip()
    return found


async def test_a_poll_is_asked_voted_on_changed_and_shown_to_everyone_at_close(make_client):
    _neighbourhood, (claire, paul, yasmine) = await neighbours(3)
    claire_client = await signed_in(make_client, claire)
    paul_client = await signed_in(make_client, paul)
    yasmine_client = await signed_in(make_client, yasmine)

    form = await claire_client.get("/posts/new?kind=discussion")
    assert "Ajouter un sondage" in form.text
    assert input_value(form.text, "poll_closes_on") == _in_days(7)
    post_id = await _ask(claire_client)
    options = await _options(post_id)
    assert list(options) == ["Samedi", "Dimanche", "Vendredi soir"]

    # Before voting, Paul sees the choices but not how others voted.
    page = await paul_client.get(f"/posts/{post_id}")
    assert 'type="radio" name="option"' in page.text and _results(page.text) == {}
    assert "Les résultats s'affichent une fois que vous avez voté." in page.text
    # The author sees the results from the start.
    assert _results((await claire_client.get(f"/posts/{post_id}")).text)["Samedi"] == "0 vote · 0 %"

    voted = await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Samedi"])})
    assert voted.status_code == 303 and voted.headers["location"] == f"/posts/{post_id}#poll"
    page = await paul_client.get(f"/posts/{post_id}")
    assert _results(page.text) == {
        "Samedi": "1 vote · 100 %",
        "Dimanche": "0 vote · 0 %",
        "Vendredi soir": "0 vote · 0 %",
    }
    assert "Changer mon vote" in page.text

    # Paul changes his mind: his earlier choice is replaced, not added to.
    await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Dimanche"])})
    # Yasmine votes through htmx: the poll's panel comes back with the results.
    swapped = await post_form(
        yasmine_client, f"/posts/{post_id}/vote", {"option": str(options["Dimanche"])}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith('<section id="poll"')
    assert _results(swapped.text)["Dimanche"] == "2 votes · 100 %"
    assert _results(swapped.text)["Samedi"] == "0 vote · 0 %"

    feed = await paul_client.get("/feed")
    assert "Sondage · 2 votes" in feed.text

    # The closing date passes: everyone sees the results, and votes are refused.
    await Poll.update({Poll.closes_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(Poll.post == post_id)
    page = await yasmine_client.get(f"/posts/{post_id}")
    assert "Sondage clos" in page.text and 'name="option"' not in page.text
    late = await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Samedi"])})
    assert late.status_code == 422
    assert "Ce sondage est clos : les votes ne sont plus acceptés." in html.unescape(late.text)
    assert _results(late.text)["Dimanche"] == "2 votes · 100 %"


async def test_results_stay_hidden_until_one_votes_and_then_show_to_a_late_reader_at_close(make_client):
    _neighbourhood, (claire, paul, hugo) = await neighbours(3)
    post_id = await _ask(await signed_in(make_client, claire))
    options = await _options(post_id)
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Vendredi soir"])})
    hugo_client = await signed_in(make_client, hugo)
    fragment = await hugo_client.get(f"/posts/{post_id}/poll", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and _results(fragment.text) == {} and "100 %" not in fragment.text
    await Poll.update({Poll.closes_at: datetime.now(timezone.utc)}).where(Poll.post == post_id)
    fragment = await hugo_client.get(f"/posts/{post_id}/poll", headers={"HX-Request": "true"})
    assert _results(fragment.text)["Vendredi soir"] == "1 vote · 100 %"


async def test_several_choices_when_the_poll_allows_them_and_one_otherwise(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    several = await _ask(claire_client, poll_multiple="1")
    one = await _ask(claire_client, title="Un seul jour")
    paul_client = await signed_in(make_client, paul)

    opts = await _options(several)
    page = await paul_client.get(f"/posts/{several}")
    assert 'type="checkbox" name="option"' in page.text
    token = paul_client.cookies["csrftoken"]
    both = [("option", str(opts["Samedi"])), ("option", str(opts["Dimanche"])), ("_csrf_token", token)]
    done = await paul_client.post(
        f"/posts/{several}/vote",
        content="&".join(f"{k}={v}" for k, v in both),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 303
    shown = _results((await paul_client.get(f"/posts/{several}")).text)
    assert shown == {"Samedi": "1 vote · 100 %", "Dimanche": "1 vote · 100 %", "Vendredi soir": "0 vote · 0 %"}

    opts = await _options(one)
    both = [("option", str(opts["Samedi"])), ("option", str(opts["Dimanche"])), ("_csrf_token", token)]
    refused = await paul_client.post(
        f"/posts/{one}/vote",
        content="&".join(f"{k}={v}" for k, v in both),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 422 and "Choisissez une des options proposées." in html.unescape(refused.text)
    nothing = await post_form(paul_client, f"/posts/{one}/vote", {})
    assert nothing.status_code == 422 and "Choisissez une option." in html.unescape(nothing.text)
    # An option of another poll is no option of this one.
    other = await post_form(paul_client, f"/posts/{one}/vote", {"option": str((await _options(several))["Samedi"])})
    assert other.status_code == 422
    assert await PollVote.count().where(PollVote.poll == (await queries.for_post(one))["id"]) == 0


BAD_POLLS = [
    ({"poll_option_2": "", "poll_option_3": ""}, "poll_option_2", "Un sondage propose au moins deux options."),
    (
        {f"poll_option_{n}": f"Choix {n}" for n in range(1, 8)},
        "poll_options",
        "Six options au plus.",
    ),
    ({"poll_option_3": "  samedi "}, "poll_option_3", "Cette option est déjà proposée."),
    ({"poll_option_3": "SA MEDI"}, "poll_option_3", "Cette option est déjà proposée."),
    ({"poll_option_2": "   "}, "poll_option_2", "Cette option est vide : écrivez-la, ou laissez vides les dernières."),
    ({"poll_option_3": "x" * 101}, "poll_option_3", "100 caractères au plus (vous en avez écrit 101)."),
    ({"poll_closes_on": _in_days(-1)}, "poll_closes_on", "Cette date est déjà passée."),
    ({"poll_closes_on": _in_days(100)}, "poll_closes_on", "Trois mois au plus après aujourd'hui."),
    ({"poll_closes_on": "demain"}, "poll_closes_on", "Indiquez une date (jj/mm/aaaa)."),
]


async def test_each_bad_poll_gets_its_message_at_the_field_and_keeps_what_was_typed(make_client):
    _neighbourhood, (claire,) = await neighbours(1)
    client = await signed_in(make_client, claire)
    for change, field, message in BAD_POLLS:
        refused = await publish(client, _discussion(**change))
        assert refused.status_code == 422, (change, refused.status_code)
        assert field_error(refused.text, field) == message, (change, field_error(refused.text, field))
        assert input_value(refused.text, "poll_option_1") == change.get("poll_option_1", "Samedi")
        assert input_value(refused.text, "title") == "Fête des voisins : quel jour ?"
    assert not await Poll.exists().where(Poll.post.author == claire.id)
    # Without any option it is a plain discussion.
    done = await publish(client, _discussion(poll_option_1="", poll_option_2="", poll_option_3=""))
    assert done.status_code == 303
    post_id = int(done.headers["location"].rsplit("/", 1)[1])
    assert await queries.for_post(post_id) is None
    assert 'id="poll"' not in (await client.get(f"/posts/{post_id}")).text


async def test_options_change_until_the_first_vote_and_then_the_form_says_they_are_fixed(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    post_id = await _ask(claire_client)
    edit = await claire_client.get(f"/posts/{post_id}/edit")
    assert input_value(edit.text, "poll_option_3") == "Vendredi soir"
    changed = await post_form(
        claire_client,
        f"/posts/{post_id}/edit",
        {**_discussion(poll_option_3="Samedi midi", poll_multiple="1"), "kind": ""},
    )
    assert changed.status_code == 303
    assert list(await _options(post_id)) == ["Samedi", "Dimanche", "Samedi midi"]
    assert (await queries.for_post(post_id))["multiple"] is True

    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str((await _options(post_id))["Samedi"])})
    edit = await claire_client.get(f"/posts/{post_id}/edit")
    assert "les options du sondage ne peuvent plus être modifiées" in html.unescape(edit.text)
    assert input_value(edit.text, "poll_option_1") is None
    kept = await post_form(
        claire_client, f"/posts/{post_id}/edit", {**_discussion(poll_option_1="Autre chose"), "title": "Fête : le jour"}
    )
    assert kept.status_code == 303
    assert list(await _options(post_id)) == ["Samedi", "Dimanche", "Samedi midi"]


async def test_export_holds_my_polls_and_my_votes_and_erasure_takes_my_votes_back(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    post_id = await _ask(claire_client)
    options = await _options(post_id)
    paul_client = await signed_in(make_client, paul)
    await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Dimanche"])})
    await post_form(claire_client, f"/posts/{post_id}/vote", {"option": str(options["Samedi"])})

    paul_data = json.loads(
        zipfile.ZipFile(io.BytesIO((await paul_client.get("/settings/export")).content)).read("voisinage.json")
    )
    assert [(v["post"], v["option"]) for v in paul_data["poll_votes"]] == [(post_id, "Dimanche")]
    assert paul_data["polls"] == []
    claire_data = json.loads(
        zipfile.ZipFile(io.BytesIO((await claire_client.get("/settings/export")).content)).read("voisinage.json")
    )
    [poll] = claire_data["polls"]
    assert poll["post"] == post_id and poll["voter_count"] == 2
    assert [o["label"] for o in poll["options"]] == ["Samedi", "Dimanche", "Vendredi soir"]
    # Only her own choice, never Paul's.
    assert [v["option"] for v in claire_data["poll_votes"]] == ["Samedi"]

    gone = await post_form(paul_client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303
    assert await PollVote.count().where(PollVote.user == paul.id) == 0
    counts = {
        o["label"]: o["vote_count"]
        for o in await PollOption.select().where(PollOption.id.is_in(list(options.values())))
    }
    assert counts == {"Samedi": 1, "Dimanche": 0, "Vendredi soir": 0}
    assert (await queries.for_post(post_id))["voter_count"] == 1
    assert _results((await claire_client.get(f"/posts/{post_id}")).text)["Samedi"] == "1 vote · 100 %"


async def test_a_poll_that_stays_after_its_author_leaves_no_longer_names_them(make_client):
    _neighbourhood, (claire, paul) = await neighbours(2)
    claire_client = await signed_in(make_client, claire)
    post_id = await _ask(claire_client, poll_option_3=f"Chez {claire.first_name} {claire.last_name}")
    gone = await post_form(claire_client, "/settings/delete", {"password": "un mot de passe solide", "confirm": "1"})
    assert gone.status_code == 303
    page = await (await signed_in(make_client, paul)).get(f"/posts/{post_id}")
    assert "Chez [effacé]" in page.text and claire.last_name not in page.text


async def test_a_hidden_discussion_hides_its_poll_and_takes_no_vote(make_client):
    neighbourhood, (claire, paul) = await neighbours(2)
    moderator = await make_moderator(neighbourhood)
    post_id = await _ask(await signed_in(make_client, claire))
    options = await _options(post_id)
    mod_client = await signed_in(make_client, moderator)
    hidden = await post_form(mod_client, f"/moderation/posts/{post_id}/hide", {"reason": "Hors sujet"})
    assert hidden.status_code == 303
    paul_client = await signed_in(make_client, paul)
    for answer in (
        await paul_client.get(f"/posts/{post_id}/poll", headers={"HX-Request": "true"}),
        await post_form(paul_client, f"/posts/{post_id}/vote", {"option": str(options["Samedi"])}),
    ):
        assert answer.status_code == 404 and "Samedi" not in answer.text
    assert "Sondage" not in (await paul_client.get("/feed")).text
    # The moderator still sees the poll on the hidden page, closed to votes.
    refused = await post_form(mod_client, f"/posts/{post_id}/vote", {"option": str(options["Samedi"])})
    assert refused.status_code == 422
    assert "masquée par la modération : le sondage est fermé" in html.unescape(refused.text)
    assert not await PollVote.exists().where(PollVote.option == options["Samedi"])


async def test_the_feed_says_how_many_voted_at_the_same_cost_however_many_polls_it_shows(make_client, database):
    from tests.test_feed import _count_queries

    _neighbourhood, (claire, paul) = await neighbours(2)
    client = await signed_in(make_client, paul)
    draft = queries.PollDraft(["Oui", "Non"], multiple=False, closes_at=datetime.now(timezone.utc) + timedelta(days=1))
    first = await queries.create_discussion(
        author=claire, title="Sondage 0", body="?", details={}, photos=[], poll=draft
    )
    poll = await queries.for_post(first)
    await queries.vote(poll["id"], paul.id, {(await queries.options_of(poll["id"]))[1]["id"]})
    few = await _count_queries(database, client.get("/feed"))
    for i in range(1, 25):
        await queries.create_discussion(
            author=claire, title=f"Sondage {i}", body="?", details={}, photos=[], poll=draft
        )
    many = await _count_queries(database, client.get("/feed"))
    assert few == many
    feed = (await client.get("/feed")).text
    # A page of twenty: the newest polls, none voted on; the first one is on the next page.
    assert feed.count("Sondage · 0 vote</p>") == 20 and "Sondage · 1 vote" not in feed
    older = await client.get("/feed", params={"before": first + 1})
    assert "Sondage · 1 vote</p>" in older.text
