"""Demo data: the five demo neighbourhoods, the addresses of their streets, a few neighbours in each, some posts.

Every demo account uses the password DEMO_PASSWORD (listed in the README).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from app.accounts.passwords import hash_password
from app.accounts.tables import User
from app.addresses import search as addresses
from app.addresses.importer import import_file
from app.addresses.tables import Address
from app.neighbourhoods import geometry
from app.neighbourhoods import queries as neighbourhoods
from app.neighbourhoods.tables import Neighbourhood
from app.posts.tables import Post

DEMO_PASSWORD = "voisins-demo-2026"
DEMO_GEOJSON = Path(__file__).parent / "neighbourhoods" / "demo.geojson"
# Real BAN rows for Paris, rows derived from the former embedded gazetteer for Dijon and Toulouse (app/addresses/README.md).
DEMO_ADDRESSES = Path(__file__).parent / "addresses" / "adresses-demo.csv"

# (email, first, last, neighbourhood slug, address, role)
PEOPLE = [
    ("claire@demo.voisinage.fr", "Claire", "Martin", "dijon-centre", "12 Rue de la Liberté, 21000 Dijon", "member"),
    ("paul@demo.voisinage.fr", "Paul", "Bernard", "dijon-centre", "3 Rue Musette, 21000 Dijon", "moderator"),
    ("yasmine@demo.voisinage.fr", "Yasmine", "Haddad", "dijon-centre", "8 Place Darcy, 21000 Dijon", "member"),
    (
        "karim@demo.voisinage.fr",
        "Karim",
        "Benali",
        "toulouse-arnaud-bernard",
        "5 Place Arnaud-Bernard, 31000 Toulouse",
        "member",
    ),
    (
        "lea@demo.voisinage.fr",
        "Léa",
        "Garcia",
        "toulouse-arnaud-bernard",
        "14 Rue des Trois Piliers, 31000 Toulouse",
        "member",
    ),
    (
        "jeanne@demo.voisinage.fr",
        "Jeanne",
        "Roux",
        "toulouse-saint-cyprien",
        "20 Rue de la République, 31300 Toulouse",
        "member",
    ),
    ("hugo@demo.voisinage.fr", "Hugo", "Lefèvre", "paris-oberkampf", "101 Rue Oberkampf, 75011 Paris", "member"),
    ("amina@demo.voisinage.fr", "Amina", "Diallo", "paris-oberkampf", "140 Rue Saint-Maur, 75011 Paris", "member"),
    ("marc@demo.voisinage.fr", "Marc", "Petit", "paris-roquette", "60 Rue de la Roquette, 75011 Paris", "member"),
    ("admin@demo.voisinage.fr", "Alice", "Admin", "dijon-centre", "20 Rue de la Liberté, 21000 Dijon", "admin"),
]

POSTS = [
    (
        "yasmine@demo.voisinage.fr",
        "discussion",
        "Bienvenue aux nouveaux voisins !",
        "Présentez-vous ici : depuis quand habitez-vous le quartier, qu'aimez-vous y faire ?",
    ),
    (
        "paul@demo.voisinage.fr",
        "lost_found",
        "Chat tigré perdu rue Musette",
        "Il s'appelle Filou, il porte un collier rouge. Merci de me prévenir si vous le voyez !",
    ),
    (
        "claire@demo.voisinage.fr",
        "give",
        "Donne poussette en bon état",
        "Poussette pliable, servie pour deux enfants, à venir chercher rue de la Liberté.",
    ),
    (
        "paul@demo.voisinage.fr",
        "lend",
        "Prête perceuse-visseuse",
        "Perceuse avec deux batteries et un jeu de forets. Pour un week-end, sans souci.",
    ),
    (
        "yasmine@demo.voisinage.fr",
        "help_request",
        "Quelqu'un pour m'aider à monter une armoire ?",
        "Samedi matin, une heure à deux. Café et croissants offerts !",
    ),
    (
        "claire@demo.voisinage.fr",
        "tip",
        "Marché des Halles : les fraises sont arrivées",
        "Le producteur du fond, côté rue Quentin, a des gariguettes excellentes.",
    ),
    (
        "karim@demo.voisinage.fr",
        "discussion",
        "Fête de la place Arnaud-Bernard",
        "Qui serait partant pour organiser un repas partagé sur la place en juin ?",
    ),
    (
        "lea@demo.voisinage.fr",
        "borrow",
        "Cherche escabeau pour un après-midi",
        "Pour repeindre un plafond, je rends le soir même.",
    ),
    (
        "jeanne@demo.voisinage.fr",
        "lost_found",
        "Trouvé un trousseau de clés",
        "Trois clés et un porte-clés en forme de chat, trouvé devant la boulangerie.",
    ),
    (
        "hugo@demo.voisinage.fr",
        "help_offer",
        "Dépannage informatique pour les voisins",
        "Je peux aider à installer une imprimante, un téléphone, une box.",
    ),
    ("amina@demo.voisinage.fr", "give", "Donne livres pour enfants", "Une vingtaine d'albums de 3 à 6 ans."),
    ("marc@demo.voisinage.fr", "tip", "Cordonnier rue Keller", "Travail rapide et soigné, prix honnêtes."),
]


async def load_demo() -> bool:
    """Loads the demo once: does nothing when the database already has neighbourhoods."""
    if await Neighbourhood.exists():
        if not await Address.exists():
            # A demo loaded before addresses lived in the database: its streets are still to be found.
            await import_file(DEMO_ADDRESSES, remove_missing=False)
        return False
    for feature in geometry.load_features(DEMO_GEOJSON):
        await neighbourhoods.upsert(feature)
    # Added beside whatever was imported before: a real département's other addresses stay.
    await import_file(DEMO_ADDRESSES, remove_missing=False)
    password_hash = await hash_password(DEMO_PASSWORD)
    now = datetime.now(timezone.utc)
    users: dict[str, User] = {}
    for email, first, last, slug, address, role in PEOPLE:
        neighbourhood = await neighbourhoods.by_slug(slug)
        place = (await addresses.search(address, 1))[0]
        lat, lon = place.lat, place.lon
        user = User(
            email=email,
            first_name=first,
            last_name=last,
            password_hash=password_hash,
            role=role,
            email_confirmed_at=now,
            locale="",
        )
        await user.save()
        # The same check as at signup, so a demo street drawn outside its polygon shows up here.
        if not geometry.contains(neighbourhood.boundary, lat, lon):
            raise ValueError(f"demo address {address} is outside {slug}")
        await neighbourhoods.join(user, neighbourhood, place.label, lat, lon)
        users[email] = user
    post_ids: dict[str, int] = {}
    for i, (email, kind, title, body) in enumerate(POSTS):
        author = users[email]
        created = now - timedelta(hours=3 * (len(POSTS) - i))
        neighbourhood_id = (await User.select(User.neighbourhood).where(User.id == author.id).first())["neighbourhood"]
        rows = await Post.insert(
            Post(
                neighbourhood=neighbourhood_id,
                author=author.id,
                kind=kind,
                title=title,
                body=body,
                details=DETAILS.get(title, {}),
                nearby=title in SHOWN_TO_NEARBY,
                created_at=created,
                updated_at=created,
            )
        )
        post_ids[title] = rows[0]["id"]
    await _people_and_conversations(users, post_ids)
    return True


# Shown to the quartiers voisins too (Arnaud-Bernard and Saint-Cyprien are 600 m apart).
SHOWN_TO_NEARBY = {"Fête de la place Arnaud-Bernard", "Trouvé un trousseau de clés"}

DETAILS = {
    "Prête perceuse-visseuse": {"loan_days": 3},
    "Quelqu'un pour m'aider à monter une armoire ?": {"skill": "bricolage"},
    "Cherche escabeau pour un après-midi": {"loan_days": 1},
}

SKILLS = {
    "paul@demo.voisinage.fr": ["bricolage", "jardinage"],
    "hugo@demo.voisinage.fr": ["informatique"],
    "yasmine@demo.voisinage.fr": ["courses", "cuisine"],
    "claire@demo.voisinage.fr": ["soutien_scolaire"],
    "lea@demo.voisinage.fr": ["animaux"],
}


async def _people_and_conversations(users: dict[str, User], post_ids: dict[str, int]) -> None:
    from app.accounts.queries import user_by_id
    from app.accounts.tables import ModeratorAssignment
    from app.messages import queries as messages
    from app.posts import queries as posts

    for email, skills in SKILLS.items():
        await posts.set_skills(await user_by_id(users[email].id), skills)
    for email in ("claire@demo.voisinage.fr", "paul@demo.voisinage.fr", "karim@demo.voisinage.fr"):
        await User.update({User.verification: "verified"}).where(User.id == users[email].id)
    paul, claire, yasmine = (users[f"{n}@demo.voisinage.fr"] for n in ("paul", "claire", "yasmine"))
    dijon = await neighbourhoods.by_slug("dijon-centre")
    await ModeratorAssignment.insert(ModeratorAssignment(user=paul.id, neighbourhood=dijon.id))
    armoire = post_ids["Quelqu'un pour m'aider à monter une armoire ?"]
    await posts.add_reply(armoire, paul.id, "Je suis libre samedi à 10 h, j'apporte ma visseuse.")
    await posts.add_reply(armoire, claire.id, "Je peux venir tenir les portes si besoin !")
    await messages.send(
        claire.id,
        paul.id,
        "Bonjour Paul, la perceuse est-elle libre ce week-end ?",
        post_id=post_ids["Prête perceuse-visseuse"],
    )
