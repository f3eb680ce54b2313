"""Recommendations of local businesses: the entries, the neighbours' words
for them, the list ranked by how many different neighbours of the viewer's
quartier and its quartiers voisins recommend each (app.access.recommendations
says who counts and who sees)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from app.access.recommendations import COUNTED
from app.db.keyset import Keyset, keyset_page
from app.db.rows import rows
from app.i18n import N_
from app.moderation.audit import audit
from app.recommendations.tables import Business, Recommendation
from app.search import fold, index_text, query_stems

# Trades named by their work ("Plomberie"), which says no one's gender.
CATEGORIES = {
    "plombier": N_("Plomberie"),
    "electricien": N_("Électricité"),
    "serrurier": N_("Serrurerie"),
    "chauffagiste": N_("Chauffage"),
    "peintre": N_("Peinture"),
    "menuisier": N_("Menuiserie"),
    "jardinier": N_("Jardinage"),
    "garagiste": N_("Garage"),
    "medecin": N_("Médecin"),
    "dentiste": N_("Dentiste"),
    "kine": N_("Kinésithérapeute"),
    "pharmacie": N_("Pharmacie"),
    "veterinaire": N_("Vétérinaire"),
    "boulangerie": N_("Boulangerie"),
    "boucherie": N_("Boucherie"),
    "epicerie": N_("Épicerie"),
    "restaurant": N_("Restaurant"),
    "coiffeur": N_("Coiffure"),
    "garde_enfants": N_("Garde d'enfants"),
    "aide_domicile": N_("Aide à domicile"),
    "cours": N_("Cours particuliers"),
    "informatique": N_("Informatique"),
    "autre": N_("Autre"),
}
# Addresses anyone can have: sharing one with a business's website says nothing.
WEBMAIL = frozenset(
    "gmail.com orange.fr free.fr laposte.net outlook.fr outlook.com hotmail.fr hotmail.com yahoo.fr yahoo.com "
    "sfr.fr wanadoo.fr icloud.com live.fr".split()
)
PAGE = 20
_RANKED = Keyset("votes", "id", descending=True)
_KEY_JUNK = re.compile(r"[^a-z0-9]+")
_PHONE_JUNK = re.compile(r"[\s.\-()/]")


def key(text: str) -> str:
    """What two spellings of one name share: "Boulangerie  Le Fournil-" and "boulangerie le fournil"."""
    return " ".join(_KEY_JUNK.sub(" ", fold(text)).split())


def french_phone(raw: str) -> str | None:
    """ "0123456789", "+33 1 23 45 67 89", "01.23.45.67.89" → "01 23 45 67 89"; None when not a French number."""
    digits = _PHONE_JUNK.sub("", raw)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if not re.fullmatch(r"0[1-9]\d{8}", digits):
        return None
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def web_address(raw: str) -> str | None:
    """An http(s) address with a host; "boulangerie.fr" gets https://. None otherwise."""
    raw = raw.strip()
    if "://" not in raw and not raw.lower().startswith(("javascript:", "data:", "mailto:")):
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or "." not in host or " " in raw:
        return None
    return raw


def _domain(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def is_own_business(email: str, website: str) -> bool:
    """The member's address is at the business's own domain (webmail does not count)."""
    if not website or "@" not in email:
        return False
    mail_domain = _domain(email.rsplit("@", 1)[1])
    if mail_domain in WEBMAIL:
        return False
    site = _domain(urlsplit(website).hostname or "")
    return site == mail_domain or site.endswith("." + mail_domain)


async def business_by_id(business_id: int) -> dict | None:
    return await Business.select().where(Business.id == business_id).first()


async def matching(name: str, commune: str, phone: str) -> dict | None:
    """The entry this business already has: same name and commune, and the
    same phone when both have one."""
    for found in await Business.select().where(
        (Business.name_key == key(name)) & (Business.commune_key == key(commune))
    ):
        if not phone or not found["phone"] or found["phone"] == phone:
            return found
    return None


def _counted_in(area: list[int]) -> tuple[str, list]:
    """The SQL condition on recommendation r and its author a: visible, by an
    address-checked member of these quartiers."""
    marks = ", ".join("{}" for _ in area)
    return (
        f"NOT r.hidden AND a.neighbourhood IN ({marks}) AND a.verification IN ({', '.join('{}' for _ in COUNTED)})",
        [*area, *COUNTED],
    )


async def similar(name: str, area: list[int], limit: int = 5) -> list[dict]:
    """Entries seen in the area whose name starts like this one (the form's "Déjà recommandé")."""
    name_key = key(name)
    if len(name_key) < 3 or not area:
        return []
    counted, args = _counted_in(area)
    return await rows(
        Business.raw(
            "SELECT b.id, b.name, b.commune, b.category FROM business b "
            f"WHERE b.name_key LIKE {{}} AND EXISTS (SELECT 1 FROM recommendation r JOIN account a ON a.id = r.author "
            f"WHERE r.business = b.id AND {counted}) ORDER BY b.name_key, b.id LIMIT {{}}",
            name_key.replace("%", "").replace("_", "") + "%",
            *args,
            limit,
        )
    )


async def ranked(
    area: list[int], *, category: str = "", q: str = "", after=None, size: int = PAGE
) -> tuple[list[dict], object]:
    """The entries seen in the area, most recommended first (distinct
    neighbours), and the next page's cursor (votes, id)."""
    if not area:
        return [], None
    counted, args = _counted_in(area)
    where = [counted]
    if category:
        where.append("b.category = {}")
        args.append(category)
    for stem in query_stems(q):
        where.append("(' ' || b.search_stems) LIKE {}")
        args.append(f"% {stem}%")
    sql = (
        "SELECT * FROM (SELECT b.id, b.name, b.category, b.commune, b.phone, b.website, "
        "COUNT(DISTINCT r.author) AS votes FROM business b JOIN recommendation r ON r.business = b.id "
        f"JOIN account a ON a.id = r.author WHERE {' AND '.join(where)} "
        "GROUP BY b.id, b.name, b.category, b.commune, b.phone, b.website) AS ranked WHERE 1 = 1"
    )
    return await keyset_page(Business.raw(sql, *args), _RANKED, cursor=after, size=size)


async def words(business_id: int, area: list[int]) -> list[dict]:
    """The visible recommendations of an entry by the area's counted
    neighbours, oldest first (the first one introduced the business)."""
    counted, args = _counted_in(area)
    return await rows(
        Recommendation.raw(
            "SELECT r.id, r.author, r.neighbourhood, r.text, r.created_at, a.first_name, a.last_name "
            f"FROM recommendation r JOIN account a ON a.id = r.author WHERE r.business = {{}} AND {counted} "
            "ORDER BY r.id",
            business_id,
            *args,
        ),
        types={"created_at": Recommendation.created_at},
    )


async def own(business_id: int, author_id: int) -> dict | None:
    return (
        await Recommendation.select()
        .where((Recommendation.business == business_id) & (Recommendation.author == author_id))
        .first()
    )


async def recommendation_by_id(recommendation_id: int) -> dict | None:
    return await Recommendation.select().where(Recommendation.id == recommendation_id).first()


async def _reindex(business_id: int) -> None:
    """The entry's search stems: its name, commune and the words of its visible recommendations."""
    business = await Business.select(Business.name, Business.commune).where(Business.id == business_id).first()
    texts = await Recommendation.select(Recommendation.text).where(
        (Recommendation.business == business_id) & (Recommendation.hidden == False)  # noqa: E712 - SQL
    )
    stems = index_text(" ".join([business["name"], business["commune"], *(t["text"] for t in texts)]))
    await Business.update({Business.search_stems: stems}).where(Business.id == business_id)


async def say(business_id: int, author, text: str) -> None:
    """The member's recommendation of the entry: added, or their earlier one
    edited (one per person and business, whatever the concurrency)."""
    now = datetime.now(timezone.utc)
    async with Recommendation._meta.db.transaction():
        await Recommendation.raw(
            "INSERT INTO recommendation (business, author, neighbourhood, text, hidden, hidden_reason, created_at, "
            "updated_at) VALUES ({}, {}, {}, {}, FALSE, '', {}, {}) "
            "ON CONFLICT (business, author) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
            business_id,
            author.id,
            author.neighbourhood,
            text,
            now,
            now,
        )
        await _reindex(business_id)


async def recommend(author, *, name: str, category: str, commune: str, phone: str, website: str, text: str) -> int:
    """A new entry, or the existing one for the same business; the member's words added to it."""
    async with Business._meta.db.transaction():
        if Business._meta.db.engine_type == "postgres":
            # Two neighbours naming the same business at once make one entry.
            # (SQLite's write transactions are one at a time already.)
            await Business.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"business:{key(name)}|{key(commune)}")
        found = await matching(name, commune, phone)
        if found is None:
            created = await Business.insert(
                Business(
                    name=name,
                    name_key=key(name),
                    category=category,
                    commune=commune,
                    commune_key=key(commune),
                    phone=phone,
                    website=website,
                    created_by=author.id,
                )
            )
            business_id = created[0]["id"]
        else:
            business_id = found["id"]
            # What the first neighbour left out, the next one may give.
            missing = {}
            if phone and not found["phone"]:
                missing[Business.phone] = phone
            if website and not found["website"]:
                missing[Business.website] = website
            if missing:
                await Business.update(missing).where(Business.id == business_id)
        await say(business_id, author, text)
    return business_id


async def _forget_unrecommended(business_ids: list[int]) -> None:
    if business_ids:
        await Business.raw(
            f"DELETE FROM business WHERE id IN ({', '.join('{}' for _ in business_ids)}) "
            "AND NOT EXISTS (SELECT 1 FROM recommendation r WHERE r.business = business.id)",
            *business_ids,
        )


async def withdraw(business_id: int, author_id: int) -> None:
    """The member's recommendation goes; the entry too when nobody recommends it any more."""
    async with Recommendation._meta.db.transaction():
        await Recommendation.delete().where(
            (Recommendation.business == business_id) & (Recommendation.author == author_id)
        )
        await _forget_unrecommended([business_id])
        if await Business.exists().where(Business.id == business_id):
            await _reindex(business_id)


async def hide(moderator, recommendation: dict, reason: str) -> None:
    async with Recommendation._meta.db.transaction():
        await Recommendation.update({Recommendation.hidden: True, Recommendation.hidden_reason: reason}).where(
            Recommendation.id == recommendation["id"]
        )
        await _reindex(recommendation["business"])
        await audit(
            moderator,
            "hide_recommendation",
            "recommend",
            recommendation["id"],
            reason,
            neighbourhood=recommendation["neighbourhood"],
            target_user=recommendation["author"],
        )


async def exported(user_id: int) -> list[dict]:
    """The member's recommendations for the RGPD export: the entries they
    started and their "Moi aussi"."""
    return await rows(
        Recommendation.raw(
            "SELECT b.name, b.category, b.commune, b.phone, b.website, r.text, r.hidden, r.created_at, "
            "r.updated_at, b.created_by = r.author AS started_entry FROM recommendation r "
            "JOIN business b ON b.id = r.business WHERE r.author = {} ORDER BY r.id",
            user_id,
        ),
        types={"created_at": Recommendation.created_at, "updated_at": Recommendation.updated_at},
    )


async def erase(user_id: int) -> None:
    """Erasure: the member's recommendations go, and the entries nobody else recommends."""
    mine = [
        r["business"]
        for r in await Recommendation.select(Recommendation.business).where(Recommendation.author == user_id)
    ]
    await Recommendation.delete().where(Recommendation.author == user_id)
    await _forget_unrecommended(mine)
    for business_id in mine:
        if await Business.exists().where(Business.id == business_id):
            await _reindex(business_id)
