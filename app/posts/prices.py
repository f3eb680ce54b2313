"""A sale's price: read from what a neighbour types, kept as whole cents
(an integer, never a float), written by Babel in the reader's locale."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency

from app.forms import Form
from app.i18n import _
from app.templating import date_locale

MAX_CENTS = 100_000 * 100
# Spaces (thousands, or before the sign), the euro sign or word around the amount.
_NOISE = re.compile(r"[\s\u00a0\u202f]|€|(?i:eur(os?)?)$")
_AMOUNT = re.compile(r"-?\d+(?:\.\d*)?|-?\.\d+")


def read_price(form: Form, field: str = "price") -> int | None:
    """The price in cents, or None with the field's French message set.
    « 15 », « 15,50 », « 15.5 », « 15 € » all read."""
    raw = form[field].strip()
    form.values[field] = raw
    if not raw:
        form.error(field, _("Indiquez un prix, ou cochez « Prix libre »."))
        return None
    text = _NOISE.sub("", raw).replace(",", ".")
    if not _AMOUNT.fullmatch(text):
        form.error(field, _("Indiquez un prix en euros, par exemple 15 ou 12,50."))
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        form.error(field, _("Indiquez un prix en euros, par exemple 15 ou 12,50."))
        return None
    if amount < 0:
        form.error(field, _("Le prix ne peut pas être négatif."))
    elif amount.normalize().as_tuple().exponent < -2:
        form.error(field, _("Deux chiffres après la virgule au plus (les centimes)."))
    elif amount * 100 > MAX_CENTS:
        form.error(field, _("100 000 € au plus."))
    else:
        return int(amount * 100)
    return None


def price_input(cents: int | None) -> str:
    """What the edit form shows in the price field: the amount as French people type it."""
    if cents is None:
        return ""
    euros, rest = divmod(cents, 100)
    return f"{euros},{rest:02d}" if rest else str(euros)


def format_price(cents: int | None) -> str:
    """« 15 € », « €15 », « 12,50 € »: whole euros without decimals; « Prix libre » without a price."""
    if cents is None:
        return _("Prix libre")
    return _format(cents, date_locale())


@lru_cache(maxsize=4096)
def _format(cents: int, locale: str) -> str:
    amount = Decimal(cents) / 100
    if cents % 100:
        return format_currency(amount, "EUR", locale=locale)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    # The locale's own pattern, without its fraction digits.
    whole = re.sub(r"\.0+", "", pattern.split(";")[0])
    return format_currency(amount, "EUR", locale=locale, format=whole, currency_digits=False)
