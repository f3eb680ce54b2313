"""The kinds of annonce, their labels and the statuses each can take."""

from __future__ import annotations

from app.i18n import N_

# Filter chips, in the order neighbours look for things.
KINDS = {
    "give": N_("Dons"),
    "lend": N_("Prêts"),
    "borrow": N_("Emprunts"),
    "help_request": N_("Demandes d'aide"),
    "help_offer": N_("Offres d'aide"),
    "tip": N_("Bons plans"),
    "lost_found": N_("Perdu/trouvé"),
    "event": N_("Événements"),
    "discussion": N_("Discussions"),
    "sale": N_("À vendre"),
    "ride": N_("Covoiturage"),
}

# What one post of the kind is called, on its badge and in the form title.
SINGULAR = {
    "give": N_("Don"),
    "lend": N_("Prêt"),
    "borrow": N_("Emprunt"),
    "help_request": N_("Demande d'aide"),
    "help_offer": N_("Offre d'aide"),
    "tip": N_("Bon plan"),
    "lost_found": N_("Perdu/trouvé"),
    "event": N_("Événement"),
    "discussion": N_("Discussion"),
    "sale": N_("À vendre"),
    "ride": N_("Covoiturage"),
}

# Statuses the author may set, per kind ("lent" goes through the loan form).
STATUSES = {
    "give": {"open": N_("Disponible"), "reserved": N_("Réservé"), "done": N_("Donné")},
    "lend": {"open": N_("Disponible"), "lent": N_("Prêté")},
    "borrow": {"open": N_("Recherché"), "done": N_("Trouvé")},
    "help_request": {"open": N_("En attente d'aide"), "done": N_("Résolu")},
    "help_offer": {"open": N_("Disponible"), "done": N_("Terminé")},
    "tip": {"open": N_("En cours"), "done": N_("Terminé")},
    "lost_found": {"open": N_("En cours"), "done": N_("Retrouvé")},
    "event": {"open": N_("À venir")},
    "discussion": {"open": N_("Ouverte"), "done": N_("Close")},
    "sale": {"open": N_("Disponible"), "reserved": N_("Réservé"), "done": N_("Vendu")},
    # A ride's state follows its seats and its date (app/rides/panel.py).
    "ride": {"open": N_("À venir")},
}
# Kinds whose author thanks who helped (« Merci à Paul B. »), and the status
# the thanks closes the post with.
THANKED_KINDS = {"give": "done", "lend": "closed", "help_request": "done", "help_offer": "done", "sale": "done"}
# Set by no one: the listings of a deleted account (see LISTING_KINDS).
CLOSED = N_("Close")

SKILLS = {
    "bricolage": N_("Bricolage"),
    "informatique": N_("Informatique"),
    "courses": N_("Courses"),
    "jardinage": N_("Jardinage"),
    "cuisine": N_("Cuisine"),
    "animaux": N_("Garde d'animaux"),
    "administratif": N_("Démarches administratives"),
    "demenagement": N_("Déménagement"),
    "couture": N_("Couture"),
    "soutien_scolaire": N_("Soutien scolaire"),
    "compagnie": N_("Visite et compagnie"),
}


def display_name(first: str | None, last: str | None) -> str:
    """First name and initial: enough to recognise a neighbour, no more."""
    from app.i18n import gettext

    if not first:
        return gettext("Compte supprimé")
    return f"{first} {last[:1]}." if last else first


def skills_of(user) -> list[str]:
    """The skills a neighbour offers (JSON comes back as text on some engines)."""
    import json

    value = user.skills if not isinstance(user, dict) else user.get("skills")
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [s for s in (value or []) if s in SKILLS]
