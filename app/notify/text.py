"""A notification's words, in its reader's language.

A notification is stored as its kind and parameters (who, which title, which
date), never as text: the same row reads in French on one neighbour's page
and in English on another's, and in each one's push payload and mail.
`describe()` is the one place that turns it into a sentence.

`params["what"]` says which event of a kind it was (an event cancelled or
moved, a post hidden or shown again); dates are ISO strings, formatted here
in the reader's locale. Rows from before notifications had parameters hold
their old text as `params["text"]` and show it as it was written.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from app import i18n
from app.templating import format_day, format_when

N_ = i18n.N_

# (kind, what) -> the French sentence; "" is a kind's only event.
MESSAGES = {
    ("reply_to_post", ""): N_("%(who)s a répondu à « %(title)s »"),
    ("reply_in_thread", ""): N_("%(who)s a aussi répondu à « %(title)s »"),
    ("message", ""): N_("Nouveau message de %(who)s"),
    ("help_match", ""): N_("%(who)s cherche de l'aide : « %(title)s »"),
    ("event", "cancelled"): N_("« %(title)s » est annulé."),
    ("event", "promoted"): N_("Une place s'est libérée : vous participez à « %(title)s »."),
    ("event", "reminder"): N_("Demain à %(time)s : « %(title)s »"),
    ("event", "moved"): N_("« %(title)s » change : %(when)s, %(place)s"),
    ("event", "date_cancelled"): N_("« %(title)s » n'a pas lieu le %(when)s."),
    ("event", "deleted"): N_("« %(title)s » n'aura pas lieu : son annonce a été retirée."),
    ("moderation", "post_hidden"): N_("Votre annonce « %(title)s » a été masquée par la modération : %(reason)s"),
    ("moderation", "post_restored"): N_("Votre annonce « %(title)s » est de nouveau visible."),
    ("moderation", "reply_hidden"): N_("Votre réponse à « %(title)s » a été masquée par la modération : %(reason)s"),
    ("moderation", "reply_restored"): N_("Votre réponse à « %(title)s » est de nouveau visible."),
    ("moderation", "alert_refused"): N_("Votre alerte « %(title)s » n'a pas été publiée : %(reason)s"),
    ("moderation", "verified"): N_("Votre compte est maintenant vérifié."),
    ("alert", "child"): N_("Alerte, enfant perdu : %(title)s"),
    ("alert", "pet"): N_("Alerte, animal perdu : %(title)s"),
    ("alert", "water"): N_("Alerte, coupure d'eau : %(title)s"),
    ("alert", "power"): N_("Alerte, coupure d'électricité : %(title)s"),
    ("alert", "fire"): N_("Alerte, incendie : %(title)s"),
    ("alert", "road"): N_("Alerte, route fermée : %(title)s"),
    ("alert", "other"): N_("Alerte : %(title)s"),
    ("group", "request"): N_("%(who)s demande à rejoindre le groupe « %(title)s »"),
    ("group", "accepted"): N_("Votre demande est acceptée : bienvenue dans le groupe « %(title)s »."),
    ("group", "refused"): N_("Votre demande pour rejoindre le groupe « %(title)s » n'a pas été acceptée."),
    ("group", "reported"): N_("Une annonce de votre groupe a été signalée : « %(title)s »"),
    ("group_post", ""): N_("%(who)s a publié dans le groupe « %(group)s » : « %(title)s »"),
    ("loan", "lent"): N_("%(who)s vous prête « %(title)s » jusqu'au %(due)s"),
    ("loan", "due_tomorrow"): N_("À rendre demain : « %(title)s »"),
    ("thanks", ""): N_("%(who)s vous remercie pour « %(title)s »"),
    ("loan", "ended"): N_("Le prêt de « %(title)s » est terminé : le compte de l'autre personne a été supprimé."),
    ("ride", "taken"): N_("%(who)s prend une place dans votre covoiturage « %(title)s »"),
    ("ride", "given_back"): N_("%(who)s rend sa place dans votre covoiturage « %(title)s »"),
    ("ride", "moved"): N_("Le covoiturage « %(title)s » change : départ %(when)s."),
    ("ride", "seat_freed"): N_("Une place s'est libérée dans votre covoiturage « %(title)s »."),
    ("ride", "cancelled"): N_("Le covoiturage « %(title)s » n'aura pas lieu : le compte de son auteur a été supprimé."),
    ("ride", "deleted"): N_("Le covoiturage « %(title)s » n'aura pas lieu : son conducteur l'a retiré."),
}

# Parameters that are moments or days, and how each is written.
_MOMENTS = {"when": "full", "time": "time"}
_DAYS = {"due": "long"}


def describe(kind: str, params: dict | str | None, locale: str | None) -> str:
    """The sentence a reader whose language is `locale` sees for this notification
    (`params` as stored: a dict, or the JSON text SQLite gives back)."""
    params = json.loads(params or "{}") if isinstance(params, str) else dict(params or {})
    message = MESSAGES.get((kind, params.get("what", "")))
    if message is None or "text" in params:
        # A row from before parameters, or a kind this version does not know.
        return str(params.get("text", ""))
    with i18n.speaking(locale):
        values = {key: _value(key, value) for key, value in params.items()}
        try:
            return i18n.gettext(message, **values)
        except (KeyError, TypeError, ValueError):
            # A parameter missing from an older row: the sentence without it beats a 500.
            return i18n.gettext(message, **{key: values.get(key, "") for key in _names(message)})


def _value(key: str, value):
    if key in _MOMENTS and isinstance(value, str) and value:
        return format_when(datetime.fromisoformat(value), _MOMENTS[key])
    if key in _DAYS and isinstance(value, str) and value:
        return format_day(date.fromisoformat(value), _DAYS[key])
    return value


def _names(message: str) -> list[str]:
    return re.findall(r"%\((\w+)\)s", message)
