"""Refusing guessable passwords, with a reason the user can act on, in their language.

zxcvbn (Dropbox's estimator, maintained in Python as ``zxcvbn``) judges a password by how an
attacker would guess it: common-password lists, words and names, keyboard rows, repeats,
sequences and dates, and the user's own details. A length rule alone lets ``password1234``
and ``aaaaaaaaaaaa`` through; zxcvbn does not.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's scale is 0-4; 3 is "safely unguessable: moderate protection from offline attacks".
MIN_SCORE = 3
# zxcvbn refuses longer input; the first 72 characters decide whether a password is weak.
_ZXCVBN_MAX = 72

_REASONS = {
    "common": _l("It is on the lists of common passwords that attackers try first."),
    "keyboard": _l("Rows and patterns of keys are easy to guess."),
    "repeat": _l("Repeated characters or words are easy to guess."),
    "sequence": _l("Sequences such as “abc” or “6543” are easy to guess."),
    "date": _l("Years and dates are easy to guess."),
    "word": _l("A single word or name is easy to guess."),
    "personal": _l("It contains your name, your e-mail address or the site's name."),
}

# zxcvbn's own (English) warnings, by the reason we give for each.
_WARNINGS = {
    "This is a top-10 common password.": "common",
    "This is a top-100 common password.": "common",
    "This is a very common password.": "common",
    "This is similar to a commonly used password.": "common",
    "Straight rows of keys are easy to guess.": "keyboard",
    "Short keyboard patterns are easy to guess.": "keyboard",
    'Repeats like "aaa" are easy to guess.': "repeat",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "repeat",
    'Sequences like "abc" or "6543" are easy to guess.': "sequence",
    "Recent years are easy to guess.": "date",
    "Dates are often easy to guess.": "date",
    "A word by itself is easy to guess.": "word",
    "Names and surnames by themselves are easy to guess.": "word",
    "Common names and surnames are easy to guess.": "word",
}

SITE_WORDS = ("lep", "lepsite", "ilo", "partnership", "employment", "admin", "coordinator")


def _mostly_personal(result: dict) -> bool:
    """Half the password or more is the user's own name or address: zxcvbn scores
    ``olenakovalenko2`` well, but anyone who knows Olena Kovalenko would try it."""
    personal = sum(
        len(match["token"])
        for match in result["sequence"]
        if match.get("dictionary_name") == "user_inputs"
    )
    return personal * 2 >= len(result["password"])


def _reason(result: dict) -> str:
    if any(match.get("dictionary_name") == "user_inputs" for match in result["sequence"]):
        return "personal"
    return _WARNINGS.get(result["feedback"]["warning"], "")


def password_problem(password: str, personal: tuple[str, ...] = ()) -> str | None:
    """Why the password is too weak, as a sentence in the current language; None if it is fine.

    ``personal`` holds the user's own details (name, e-mail): a password built on them is weak.
    """
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return _(
            "Use %(min)d to %(max)d characters.",
            min=MIN_PASSWORD_LENGTH,
            max=MAX_PASSWORD_LENGTH,
        )
    inputs = [word for value in personal if value for word in _words(value)]
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[*inputs, *SITE_WORDS])
    if result["score"] >= MIN_SCORE and not _mostly_personal(result):
        return None
    reason = _reason(result)
    message = _("This password is too easy to guess.")
    if reason:
        message += " " + str(_REASONS[reason])
    return message + " " + _("A few unrelated words are easy to remember and hard to guess.")


def _words(value: str) -> list[str]:
    """A name or e-mail address and its parts (``olena.test@example.org`` → olena, test…)."""
    parts = [value.lower()]
    for separator in ("@", ".", " ", "-", "_", "+"):
        parts = [piece for part in parts for piece in part.split(separator)]
    return [value.lower(), *(part for part in parts if len(part) >= 3)]
