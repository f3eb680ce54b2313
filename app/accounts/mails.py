"""The mails of an account's life: confirming the address, choosing a new
password, and telling an owner that someone signed up with their address."""

from __future__ import annotations

from datetime import timedelta

from app.accounts import queries
from app.i18n import _, speaking
from app.notify.mail import send_mail
from app.settings import get_settings

RESET_TTL = timedelta(hours=1)
CONFIRM_TTL = timedelta(days=7)


async def send_confirmation(user_id: int, email: str, first_name: str) -> None:
    token = await queries.create_token(user_id, "confirm_email", CONFIRM_TTL)
    link = f"{get_settings().base_url}/email/confirm?token={token}"
    await send_mail(
        email,
        _("Confirmez votre adresse e-mail sur Voisinage"),
        _(
            "Bonjour %(name)s,\n\nPour confirmer votre adresse e-mail, ouvrez ce lien :\n%(link)s\n\n"
            "Si vous n'êtes pas à l'origine de cette inscription, ignorez ce message.\n\nL'équipe Voisinage",
            name=first_name,
            link=link,
        ),
    )


async def send_reset(email: str) -> None:
    user = await queries.user_by_email(email)
    if user is None:
        return
    token = await queries.create_token(user.id, "reset_password", RESET_TTL)
    link = f"{get_settings().base_url}/password/reset?token={token}"
    await send_mail(
        user.email,
        _("Réinitialiser votre mot de passe Voisinage"),
        _(
            "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien dans l'heure :\n%(link)s\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.\n\nL'équipe Voisinage",
            name=user.first_name,
            link=link,
        ),
    )


async def send_signup_attempt(email: str) -> None:
    """Step 1 named an address that already has an account: its owner hears
    of it, in their own language, and the person signing up learns nothing."""
    user = await queries.user_by_email(email)
    if user is None:
        return
    base = get_settings().base_url
    with speaking(user.locale):
        await send_mail(
            user.email,
            _("Quelqu'un a voulu s'inscrire sur Voisinage avec votre adresse e-mail"),
            _(
                "Bonjour %(name)s,\n\nQuelqu'un vient d'essayer de créer un compte Voisinage avec votre adresse e-mail. "
                "Vous en avez déjà un : aucun autre compte n'a été créé et le vôtre n'a pas changé.\n\n"
                "Si c'était vous, connectez-vous :\n%(login)s\n\n"
                "Mot de passe oublié ? Choisissez-en un nouveau :\n%(reset)s\n\n"
                "Si ce n'était pas vous, ignorez ce message.\n\nL'équipe Voisinage",
                name=user.first_name,
                login=f"{base}/login",
                reset=f"{base}/password/forgot",
            ),
        )
