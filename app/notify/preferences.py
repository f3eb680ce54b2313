"""What each person wants to hear about, and how: per kind push, email, both
or neither, and a digest daily, weekly or never. Kept in the account's
`notification_prefs` (JSON); absent choices take the defaults below, made for
someone without push: messages and replies come by email too.

The unsubscribe links of the mails carry a token signed with the instance's
secret key, so one click stops a kind of mail without logging in (RFC 8058).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from app import i18n
from app.accounts.tables import User
from app.settings import get_settings

# What a neighbour can choose, in the settings page's order.
# Named untranslated, like the kinds: the page words it in its reader's language.
DIGEST_LABEL = i18n.N_("Résumé du quartier")

PREFERENCES = {
    "reply_to_post": i18n.N_("Réponses à mes annonces"),
    "reply_in_thread": i18n.N_("Réponses dans les discussions où j'ai écrit"),
    "message": i18n.N_("Messages privés"),
    "event": i18n.N_("Événements auxquels je participe"),
    "help_match": i18n.N_("Demandes d'aide qui correspondent à mes compétences"),
    "moderation": i18n.N_("Modération"),
    "ride": i18n.N_("Places prises dans mes covoiturages"),
    "thanks": i18n.N_("Remerciements pour mon aide"),
    "group_post": i18n.N_("Annonces dans mes groupes"),
}
CHANNELS = {
    "both": i18n.N_("Sur l'appareil et par e-mail"),
    "push": i18n.N_("Sur l'appareil seulement"),
    "email": i18n.N_("Par e-mail seulement"),
    "none": i18n.N_("Ni l'un ni l'autre"),
}
DEFAULTS = {
    "reply_to_post": "both",
    "reply_in_thread": "both",
    "message": "both",
    "event": "both",
    "help_match": "push",
    "moderation": "both",
    "ride": "both",
    "thanks": "both",
    "group_post": "push",
}
DIGESTS = {
    "weekly": i18n.N_("Chaque semaine"),
    "daily": i18n.N_("Chaque jour"),
    "off": i18n.N_("Jamais"),
}
DEFAULT_DIGEST = "weekly"
# Urgent alerts of the quartier (app.alerts) come by push and by email to
# everyone, whatever the choices above: this one line alone can stop them.
ALERT_LABEL = i18n.N_("Alertes urgentes du quartier")
ALERTS = {
    "on": i18n.N_("Les recevoir sur l'appareil et par e-mail"),
    "off": i18n.N_("Ne pas les recevoir"),
}


def _loaded(prefs: dict | str | None) -> dict:
    if isinstance(prefs, str):
        return json.loads(prefs or "{}")
    return prefs or {}


def channel(prefs: dict | str | None, kind: str) -> str:
    """push | email | both | none. Kinds without a choice (loans) go by both ways."""
    if kind == "alert":
        # The per-kind choices are not read: an alert goes both ways unless alerts are off.
        return "both" if alerts(prefs) == "on" else "none"
    if kind not in PREFERENCES:
        return "both"
    value = _loaded(prefs).get(kind, DEFAULTS[kind])
    # Before email existed the choice was on (the default) or off.
    if value is True or value not in CHANNELS:
        return DEFAULTS[kind]
    return "none" if value is False else value


def wants_push(prefs: dict | str | None, kind: str) -> bool:
    return channel(prefs, kind) in ("push", "both")


def wants_mail(prefs: dict | str | None, kind: str) -> bool:
    return channel(prefs, kind) in ("email", "both")


def digest(prefs: dict | str | None) -> str:
    value = _loaded(prefs).get("digest", DEFAULT_DIGEST)
    return value if value in DIGESTS else DEFAULT_DIGEST


def alerts(prefs: dict | str | None) -> str:
    return "off" if _loaded(prefs).get("alert") == "off" else "on"


async def user_preferences(user_id: int) -> dict[str, str]:
    row = await User.select(User.notification_prefs).where(User.id == user_id).first()
    prefs = (row or {}).get("notification_prefs")
    return {**{kind: channel(prefs, kind) for kind in PREFERENCES}, "digest": digest(prefs), "alert": alerts(prefs)}


async def save_preferences(user_id: int, chosen: dict[str, str]) -> None:
    """Only known kinds and values are kept: nothing else of the account changes here."""
    current = await user_preferences(user_id)
    for kind in PREFERENCES:
        if chosen.get(kind) in CHANNELS:
            current[kind] = chosen[kind]
    if chosen.get("digest") in DIGESTS:
        current["digest"] = chosen["digest"]
    if chosen.get("alert") in ALERTS:
        current["alert"] = chosen["alert"]
    await User.update({User.notification_prefs: current}).where(User.id == user_id)


async def stop_mail(user_id: int, kind: str) -> None:
    """What the unsubscribe link does: that kind keeps its push, loses its mail."""
    current = await user_preferences(user_id)
    if kind == "digest":
        current["digest"] = "off"
    elif kind == "alert":
        # Alerts are one choice for both ways: stopping their mail stops them.
        current["alert"] = "off"
    elif kind in PREFERENCES:
        current[kind] = {"both": "push", "email": "none"}.get(current[kind], current[kind])
    await User.update({User.notification_prefs: current}).where(User.id == user_id)


# One-click unsubscribe --------------------------------------------------------------------


def signature(purpose: str, value: str) -> str:
    """The one signature of the links and addresses mails carry (unsubscribe, bounces):
    lowercase hex, so it survives a mail server that lowercases an address."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(user_id: int, kind: str) -> str:
    return f"{user_id}.{kind}." + signature("unsubscribe", f"{user_id}:{kind}")


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) for a token this instance signed, else None."""
    user, _, rest = token.partition(".")
    kind, _, signed = rest.partition(".")
    if not user.isdigit() or len(user) > 12 or (kind not in PREFERENCES and kind not in ("digest", "alert")):
        return None
    if not signed.isascii() or not hmac.compare_digest(signed, signature("unsubscribe", f"{int(user)}:{kind}")):
        return None
    return int(user), kind


def unsubscribe_url(user_id: int, kind: str) -> str:
    return f"{get_settings().base_url}/mail/unsubscribe/{unsubscribe_token(user_id, kind)}"
