"""Dates, ages and counts read as people write them, in French, British and
American English: « samedi 6 décembre à 14 h 30 », « 1er décembre », « il y a
5 min », « 1 place restante »; and every `<time datetime>` is valid HTML."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.events import queries as events
from app.messages import queries as messages
from app.posts.tables import Post
from tests.factories import make_neighbourhood, make_user, post_form
from tests.factories_posts import make_post, signed_in

PARIS = ZoneInfo("Europe/Paris")
MOIS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
JOURS = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()
MONTHS = "January February March April May June July August September October November December".split()
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
# What the HTML standard accepts for a moment: no microseconds, an offset or Z.
VALID_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:\d\d)")


def _saturday_at(hour: int, minute: int) -> datetime:
    day = date.today() + timedelta(days=8)
    day += timedelta(days=(5 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def _first_of_a_month_at(hour: int) -> datetime:
    day = (date.today().replace(day=1) + timedelta(days=40)).replace(day=1)
    return datetime(day.year, day.month, 1, hour, 0, tzinfo=PARIS)


async def _event(author, start: datetime, capacity: int | None = None) -> int:
    return await events.create_event(
        author=author,
        title="Repas de quartier",
        body="Chacun apporte un plat.",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        place="Square Darcy",
        capacity=capacity,
        photos=[],
    )


async def _story():
    neighbourhood = await make_neighbourhood()
    claire = await make_user(neighbourhood, first_name="Claire", locale="fr")
    # Emma's account follows her browser's language.
    emma = await make_user(neighbourhood, first_name="Emma", locale="")
    return claire, emma


async def _page(client, url: str, language: str) -> str:
    response = await client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, url
    # Babel puts no-break spaces where a line must not break (« 5 min », « 2:30 PM »).
    return html.unescape(response.text).replace("\xa0", " ").replace("\u202f", " ")


async def test_an_event_date_reads_as_each_language_writes_it(make_client):
    claire, emma = await _story()
    start = _saturday_at(14, 30)
    post_id = await _event(claire, start)
    first = _first_of_a_month_at(10)
    first_id = await _event(claire, first)
    claire_client, emma_client = await signed_in(make_client, claire), await signed_in(make_client, emma)

    french = await _page(claire_client, f"/posts/{post_id}", "fr")
    assert f"samedi {start.day} {MOIS[start.month - 1]} à 14 h 30" in french
    assert f"{JOURS[first.weekday()]} 1er {MOIS[first.month - 1]} à 10 h<" in await _page(
        claire_client, f"/posts/{first_id}", "fr"
    )
    british = await _page(emma_client, f"/posts/{post_id}", "en-GB,en;q=0.8")
    assert f"Saturday {start.day} {MONTHS[start.month - 1]}, 14:30" in british
    american = await _page(emma_client, f"/posts/{post_id}", "en-US,en;q=0.8")
    assert f"Saturday, {MONTHS[start.month - 1]} {start.day}, 2:30 PM" in american
    for page in (french, british, american):
        # Neither seconds nor a time zone's name in what is read.
        page = re.sub(r"<[^>]+>", " ", page)
        assert "14:30:00" not in page and "2:30:00" not in page
        assert "heure normale" not in page and "Central European" not in page


async def test_ages_in_lists_are_relative_with_the_date_itself_in_the_time_element(make_client):
    claire, emma = await _story()
    post_id = await make_post(claire, title="Tondeuse à prêter")
    five_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=5, seconds=10)
    await Post.update({Post.created_at: five_minutes_ago}).where(Post.id == post_id)
    claire_client, emma_client = await signed_in(make_client, claire), await signed_in(make_client, emma)

    assert "il y a 5 min" in await _page(claire_client, "/feed", "fr")
    assert "5 min ago" in await _page(emma_client, "/feed", "en-GB")
    await post_form(emma_client, f"/posts/{post_id}/replies", {"body": "Je la prends samedi !"})
    thread = await _page(claire_client, f"/posts/{post_id}", "fr")
    reply_time = re.search(r'<time datetime="([^"]+)" title="([^"]+)">à l\'instant</time>', thread)
    assert reply_time, "the reply shows its age"
    assert re.fullmatch(VALID_MOMENT, reply_time.group(1)) and " à " in reply_time.group(2)
    await messages.send(emma.id, claire.id, "Bonjour Claire !")
    assert "à l'instant" in await _page(claire_client, "/messages", "fr")
    assert "just now" in await _page(emma_client, "/messages", "en-GB")
    assert "à l'instant" in await _page(claire_client, "/notifications", "fr")


async def test_every_time_element_on_the_pages_is_valid_html(make_client):
    claire, emma = await _story()
    post_id = await make_post(claire, title="Tondeuse à prêter")
    event_id = await _event(claire, _saturday_at(14, 30))
    emma_client = await signed_in(make_client, emma)
    await post_form(emma_client, f"/posts/{post_id}/replies", {"body": "Je la prends samedi !"})
    conversation = await messages.send(emma.id, claire.id, "Bonjour Claire !")
    claire_client = await signed_in(make_client, claire)
    pages = ["/feed", f"/posts/{post_id}", "/events", f"/posts/{event_id}", "/messages", "/notifications"]
    pages.append(f"/messages/{conversation}")
    seen = 0
    for url in pages:
        for value in re.findall(r'<time datetime="([^"]*)"', await _page(claire_client, url, "fr")):
            assert VALID_MOMENT.fullmatch(value), (url, value)
            seen += 1
    assert seen >= len(pages)


async def test_counts_agree_with_their_number_in_both_languages(make_client):
    claire, emma = await _story()
    post_id = await _event(claire, _saturday_at(14, 30), capacity=2)
    claire_client, emma_client = await signed_in(make_client, claire), await signed_in(make_client, emma)

    def counts(page: str) -> str:
        return " ".join(
            re.sub(r"<[^>]+>", " ", re.search(r'class="count-line">(.*?)</p>', page, re.S).group(1)).split()
        )

    assert counts(await _page(claire_client, f"/posts/{post_id}", "fr")) == "0 personne inscrite · 2 places restantes"
    assert counts(await _page(emma_client, f"/posts/{post_id}", "en-GB")) == "0 people going · 2 places left"
    await post_form(emma_client, f"/posts/{post_id}/signup")
    assert counts(await _page(claire_client, f"/posts/{post_id}", "fr")) == "1 personne inscrite · 1 place restante"
    assert counts(await _page(emma_client, f"/posts/{post_id}", "en-GB")) == "1 person going · 1 place left"
    neighbourhood_line = re.compile(r"Testville · (\d+ \w+)")
    assert neighbourhood_line.search(await _page(claire_client, "/feed", "fr")).group(1) == "2 voisins"
    assert neighbourhood_line.search(await _page(emma_client, "/feed", "en-GB")).group(1) == "2 neighbours"
