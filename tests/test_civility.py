from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from app.access import posting_refusal
from app.access import suspension as is_suspended
from app.civility import needs_nudge


def test_ordinary_posts_pass_without_a_nudge():
    for text in [
        "Je donne une perceuse",
        "Qui peut m'aider à porter un canapé ?",
        "Merci à tous pour la fête des voisins !",
        "Le conseil de quartier se réunit jeudi",
    ]:
        assert not needs_nudge(text), text


def test_insults_shouting_and_threats_ask_to_rephrase():
    for text in [
        "Espèce de connard, rends-moi mon échelle",
        "ARRÊTEZ DE METTRE VOS POUBELLES ICI",
        "C'est inadmissible !!!",
        "Je vais te casser la figure",
        "Quel abruti ce voisin",
    ]:
        assert needs_nudge(text), text


def test_suspended_or_unverified_members_cannot_post_where_verification_is_required():
    neighbourhood = SimpleNamespace(requires_verification=True)
    open_neighbourhood = SimpleNamespace(requires_verification=False)
    verified = SimpleNamespace(verification="verified", suspended_until=None)
    checked = SimpleNamespace(verification="address_checked", suspended_until=None)
    suspended = SimpleNamespace(verification="verified", suspended_until=datetime.now(timezone.utc) + timedelta(days=1))
    assert posting_refusal(verified, neighbourhood) is None
    assert posting_refusal(checked, open_neighbourhood) is None
    assert "vérifié" in posting_refusal(checked, neighbourhood)
    assert is_suspended(suspended) and "suspendu" in posting_refusal(suspended, open_neighbourhood)
