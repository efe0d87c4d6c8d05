"""Registration numbers: an organisation's number in its country's register, checked by that
country's rules before it is stored.

The application form asks for it (optional) and checks it by the country of the chosen
partnership (``partnerships.country_of``); with "not sure", a number valid under either
country's rules is accepted. Spaces and dashes typed between the digits are allowed; the digits
alone are stored, so the same number typed two ways finds itself (``membership.duplicates``).

**Ukraine (UA): the EDRPOU code** (код ЄДРПОУ, the Unified State Register of Enterprises and
Organisations): 8 digits, the last a check digit. python-stdnum's ``stdnum.ua.edrpou`` holds
the rule (two rounds of weights modulo 11, as the State Statistics Service issues them), so it
is not copied here. A sole trader (ФОП) has no EDRPOU code: their 10-digit number is a person's
tax number (РНОКПП), which is refused by its length and not wanted here anyway.

**Bosnia and Herzegovina (BA): the ID number, JIB** (jedinstveni identifikacioni broj, "ID
broj" on invoices and letterheads): 13 digits, the last a check digit. python-stdnum has no
module for it, so it is written here. The check digit is the weighted modulus-11 digit of the
Yugoslav registration-number family, the one the JMB (personal number) uses:

    S = 7·d1 + 6·d2 + 5·d3 + 4·d4 + 3·d5 + 2·d6 + 7·d7 + 6·d8 + 5·d9 + 4·d10 + 3·d11 + 2·d12
    K = 11 − (S mod 11); remainder 0 gives K = 0.

Sources. The ID number is assigned under each entity's rulebook on identification numbers
(Federation: Pravilnik o dodjeljivanju identifikacionih brojeva i poreznoj registraciji,
Službene novine FBiH 39/02, replaced by 69/17; Republika Srpska: Službeni glasnik RS 4/13); the
Indirect Taxation Authority (UIO, www.uino.gov.ba) registers it, and its 12-digit VAT number is
the ID number without the leading 4. No text of those rulebooks with the formula could be found
online, so the weights are the JMB's published control-digit rule (Zakon o jedinstvenom
matičnom broju, Službeni glasnik BiH 32/01; the formula as printed e.g. at
opsteobrazovanje.in.rs/zanimljivo/jmbg and in the guide "Kontrola matičnog broja",
scribd.com/doc/220457777), confirmed against published ID numbers: the examples of the
org-id.guide BA-JIB list (4402093280003, and the VAT numbers 200318240004 and 504047220001 with
their leading 4) and numbers organisations print on their letterheads and invoices
(4403258750006, 4202206190007, 4363863550009, 4201731140006, 4236743350004 …). One third-party
validator (tools.gera.services) says ISO 7064 MOD 11,10, the Croatian OIB's scheme: of those
published numbers only one fits that rule (as one in ten would by chance), so it is not used.

Remainder 1 (K = 10). The JMB rule calls such a number impossible; some descriptions of the same
family write 0 instead. A published ID number with remainder 1 ends in 0 (4203144510090, from a
Sarajevo shop's fiscal receipt), and refusing an organisation its real number would stop it from
applying (or make it drop the number), while a typo slipping through only costs a missed
duplicate: so 0 is accepted there.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from stdnum.ua import edrpou

# ISO 3166 codes of the countries whose numbers the form checks, and each one's length.
UKRAINE, BOSNIA_AND_HERZEGOVINA = "UA", "BA"
LENGTHS = {UKRAINE: 8, BOSNIA_AND_HERZEGOVINA: 13}
COUNTRIES = tuple(LENGTHS)

# What people type between groups of digits: spaces of every width and dashes of every kind.
_SEPARATORS = re.compile(r"[\s\u00a0\u2007\u202f\-\u2010\u2011\u2012\u2013\u2014\u2212]+")
_JIB_WEIGHTS = (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@dataclass(frozen=True)
class RegistrationNumberError(ValueError):
    """Why a typed number was refused.

    ``reason``: ``letters`` (it holds letters), ``characters`` (other signs than digits, spaces
    and dashes), ``length`` (no country's length; ``digits`` says how many it has) or
    ``check_digit`` (the right length for ``country``, but its last digit does not match).
    ``countries``: the countries whose rules applied.
    """

    reason: str
    countries: tuple[str, ...]
    digits: int = 0
    country: str = ""

    def message(self) -> str:
        """What is wrong, in the request's language, saying what the number should be."""
        if self.reason == "letters":
            return _("A registration number has digits only: remove the letters.")
        if self.reason == "characters":
            return _("Use digits only; spaces and dashes between them are fine.")
        if self.reason == "check_digit":
            if self.country == UKRAINE:
                return _(
                    "This is not a valid EDRPOU code: its last digit (the check digit) does not "
                    "match the others. Check it for a typing error."
                )
            return _(
                "This is not a valid ID number (JIB): its last digit (the check digit) does not "
                "match the others. Check it for a typing error."
            )
        if self.countries == (UKRAINE,):
            return ngettext(
                "An EDRPOU code has 8 digits; this number has %(num)d digit.",
                "An EDRPOU code has 8 digits; this number has %(num)d digits.",
                self.digits,
            )
        if self.countries == (BOSNIA_AND_HERZEGOVINA,):
            return ngettext(
                "An ID number (JIB) has 13 digits; this number has %(num)d digit.",
                "An ID number (JIB) has 13 digits; this number has %(num)d digits.",
                self.digits,
            )
        return ngettext(
            "A registration number has 8 digits (EDRPOU code, Ukraine) or 13 (ID number, Bosnia "
            "and Herzegovina); this number has %(num)d digit.",
            "A registration number has 8 digits (EDRPOU code, Ukraine) or 13 (ID number, Bosnia "
            "and Herzegovina); this number has %(num)d digits.",
            self.digits,
        )


def compact(value: str) -> str:
    """The value without the spaces and dashes typed between its digits."""
    return _SEPARATORS.sub("", value or "")


def jib_check_digit(first_twelve: str) -> int:
    """The check digit of an ID number (JIB) from its first twelve digits (see the module)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_twelve, _JIB_WEIGHTS, strict=True)
    )
    return (11 - total % 11) % 11 % 10


def is_valid_jib(number: str) -> bool:
    """True for 13 ASCII digits whose last is the check digit."""
    return (
        len(number) == 13
        and number.isascii()
        and number.isdigit()
        and jib_check_digit(number[:12]) == int(number[12])
    )


def is_valid_edrpou(number: str) -> bool:
    """True for 8 ASCII digits whose last is the EDRPOU check digit (python-stdnum's rule)."""
    return len(number) == 8 and number.isascii() and number.isdigit() and edrpou.is_valid(number)


_VALID = {UKRAINE: is_valid_edrpou, BOSNIA_AND_HERZEGOVINA: is_valid_jib}


def check(value: str, countries: Collection[str]) -> str:
    """The number's digits, when ``value`` is a valid number of one of ``countries``.

    Raises ``RegistrationNumberError`` saying what is wrong. Countries without rules here
    are ignored; none left means both countries' rules apply ("not sure", an unknown key).
    """
    applying = tuple(code for code in COUNTRIES if code in set(countries)) or COUNTRIES
    number = compact(value)
    if number and not (number.isascii() and number.isdigit()):
        reason = "letters" if any(sign.isalpha() for sign in number) else "characters"
        raise RegistrationNumberError(reason, applying)
    country = next((code for code in applying if len(number) == LENGTHS[code]), None)
    if country is None:
        raise RegistrationNumberError("length", applying, digits=len(number))
    if not _VALID[country](number):
        raise RegistrationNumberError("check_digit", applying, digits=len(number), country=country)
    return number
