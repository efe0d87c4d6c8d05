"""Possible duplicate applications: the same registration number, the same e-mail address, or
the same organisation name once the differences that do not change which organisation is meant
are taken out.

An organisation is named differently by different people: «ТОВ "Зелена Енергія"» on a Ukrainian
form, "Zelena Energija d.o.o." from a Bosnian colleague, "Zelena Enerhiia LLC" in English. The
*name key* (``name_key``) is what is left of a name once these go:

1. **Case and width** (Unicode NFKC, then casefold).
2. **Apostrophes** are dropped (Ukrainian writes one inside words: Зв'язок, Мʼясо, in three
   different characters; English "Employers' …"), **quotes of every kind** (« » „ “ ” " ' ‹ ›)
   and **all other punctuation** become spaces.
3. **Legal-form words** (below).
4. **Script**: Cyrillic is transliterated to Latin (``anyascii``), and BHS diacritics go with it
   (č ć → c, š → s, ž → z, đ → d).
5. **Romanisation variants.** Ukrainian names reach us romanised by different systems (the
   national one, Russian-style, Polish-style, ad hoc) and Bosnian writers spell the same sounds
   their own way. After transliteration the letters that stand for one sound are merged:
   kh/h (х), zh/z (ж), ch/c (ч, č), sh/s (ш, š), ts/c (ц), dj/d (ђ, đ), g/h (Ukrainian г is
   "h" in the national system, "g" elsewhere and in BHS), w/v, and j/y/i (и, й, ї and the
   glide in я, ю, є). Then runs of one letter become one (ii, zhzh, ll …) and "ie" becomes "e"
   (є is ye/ie/je/e). So Enerhiia, Energiya, Energija and Enerhija all become "enerhia".
6. **Spaces** go: "Kyivstar" and "Kyiv Star" meet.

Every step maps many spellings to one and none splits one into many, so two spellings of one
name meet; the price is that some different names meet too. That is acceptable: a match only
*marks* a possible duplicate for a coordinator to look at; it never merges or refuses anything.

**Legal forms.** A word is taken out when an organisation of that form can add it to or drop it
from its name without becoming another organisation ("Zelena Energija d.o.o." is "Zelena
Energija"), in the three languages of the site and in the usual English renderings of the
Ukrainian forms:

- English: LLC, Ltd, Limited, Inc, Incorporated, Corp, PLC, LLP, GmbH, NGO, JSC (PJSC, PrJSC,
  OJSC, CJSC), and the spelled-out forms "limited liability company", "(private/public) joint
  stock company", "non-governmental organisation", "public organisation/union" (ГО, ГС),
  "charitable foundation/fund/organisation" (БФ, БО), "private/state/communal/municipal
  enterprise" (ПП, ДП, КП), "individual entrepreneur", "sole proprietor".
- Ukrainian (in Cyrillic): ТОВ, ТзОВ, ТДВ, ПП, ФОП, ГО, ГС, БФ, МБФ, БО, АТ, ПАТ, ПрАТ, ВАТ,
  ЗАТ, ДП, КП, КНП, ФГ, and their spelled-out forms ("товариство з обмеженою
  відповідальністю", "громадська організація", "фізична особа-підприємець" …); the Russian
  ООО, ОАО, ЗАО, ЧП, still seen on older letterheads.
- Ukrainian forms typed in Latin: TOV, TzOV, PrAT, FOP.
- BHS: d.o.o., j.d.o.o., d.d., a.d., o.d., k.d., s.p., and the spelled-out "društvo s(a)
  ograničenom odgovornošću", "dioničko/akcionarsko društvo"; "udruženje (građana)", "udruga
  (građana)" and UG: under the Law on Associations and Foundations "udruženje" is the form an
  association is registered in, and people drop it when they name one ("UG Zelena Energija",
  "Zelena Energija").

What stays, and why:

- Short Latin tokens that are ordinary words or brands when written without dots: "go" (ГО in
  Latin, but "Go Green"), "pp", "pe" (physical education), "at", "pat", and the BHS two-letter
  forms without dots ("ad", "sp", "od": "Best Ad Agency"), except "dd" after another word
  ("Bosnalijek dd"; first, as in "DD Consulting", it is initials). Written with dots (d.d.,
  a.d., s.p.) they are forms and go. In Cyrillic, ГО, ПП and АТ are never words, so they go.
- Nouns that are part of what an organisation is called: association, foundation, centre,
  fund, chamber, union, fondacija, centar, асоціація, спілка (alone), фонд (alone). "Employers'
  Association" and "Employers' Council" are different organisations.
- Town names. The one exception is the seat a BHS company writes after its form ("BH Telecom
  d.d. Sarajevo"): whatever follows a BHS company form (d.o.o., d.d., a.d. …) is dropped, since
  that is where the registered seat goes; two companies of one name in two towns are then
  marked as possible duplicates, which a coordinator should see anyway.

A leading English "the" goes too. A name that is nothing but legal-form words keeps its own key
(a key is never made empty by this step). Empty keys (anonymised applications, whose name is
blank) never match.

The lookups (``possible_duplicates``, ``marked_rows``) read the indexed ``name_key``,
``email_key`` and ``registration_number`` columns for given values only, within the scope the
caller passes (the admin's ``visible_to``), so a coordinator never learns about applications
outside their partnerships, and the list's 100,000 rows are never scanned.
"""

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from anyascii import anyascii
from sqlalchemy import Select, func, literal, select, union_all

from ..extensions import db
from ..models import Application

# ---------------------------------------------------------------- the name key

KEY_LENGTH = 200  # the column's size

_APOSTROPHES = re.compile(r"['’‘ʼʹ`´]")
_NOT_LETTER_OR_DIGIT = re.compile(r"[^0-9a-z]+")


# Letter pairs that stand for one sound in the romanisations we meet (step 5), in this order:
# "shch" becomes "sc". Folded before the legal forms are looked for, so that "drushtvo" (from
# Serbian Cyrillic) is "drustvo" and "aktsionarsko" is "akcionarsko".
_DIGRAPHS = (("kh", "h"), ("zh", "z"), ("ch", "c"), ("sh", "s"), ("ts", "c"), ("dj", "d"))
# Then single letters: Ukrainian г is h or g; и, й, ї and the glides are i, y or j.
_LETTERS = (("g", "h"), ("w", "v"), ("j", "i"), ("y", "i"))
_RUNS = re.compile(r"([a-z])\1+")


def _fold(text: str) -> str:
    """``text`` with each letter pair of ``_DIGRAPHS`` written as its one letter."""
    for spelling, sound in _DIGRAPHS:
        text = text.replace(spelling, sound)
    return text


def _words(*phrases: str, latin: bool = True) -> str:
    """A regex alternative of whole phrases (words separated by spaces or hyphens/dashes);
    ``latin`` ones are folded (``_fold``) as the text they are looked for in is."""
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):  # the longest first
        words = [re.escape(_fold(word) if latin else word) for word in phrase.split()]
        parts.append(r"[\s\-‐–—]*".join(words))
    return r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)"


def _dotted(*forms: str) -> str:
    """A regex alternative of abbreviations written with dots (d.o.o., "d. d.", a.d)."""
    parts = []
    for form in forms:
        letters = [re.escape(letter) for letter in _fold(form)]
        # At least one dot between the letters; spaces around the dots allowed.
        parts.append(r"\s*\.\s*".join(letters) + r"\s*\.?")
    return r"(?<!\w)(?:" + "|".join(parts) + r")(?![\w])"


# Ukrainian (and older Russian) forms, matched on the casefolded Cyrillic text, before
# transliteration: there even the short ones (го, пп, ат) are never ordinary words.
_CYRILLIC_FORMS = re.compile(
    _words(
        "товариство з обмеженою відповідальністю",
        "товариство з додатковою відповідальністю",
        "приватне акціонерне товариство",
        "публічне акціонерне товариство",
        "відкрите акціонерне товариство",
        "закрите акціонерне товариство",
        "акціонерне товариство",
        "фізична особа підприємець",
        "приватне підприємство",
        "державне підприємство",
        "комунальне некомерційне підприємство",
        "комунальне підприємство",
        "громадська організація",
        "громадська спілка",
        "міжнародний благодійний фонд",
        "благодійний фонд",
        "благодійна організація",
        "фермерське господарство",
        "тов",
        "тзов",
        "тдв",
        "пп",
        "фоп",
        "го",
        "гс",
        "бф",
        "мбф",
        "бо",
        "ат",
        "пат",
        "прат",
        "ват",
        "зат",
        "дп",
        "кп",
        "кнп",
        "фг",
        "ооо",
        "оао",
        "зао",
        "чп",
        latin=False,
    )  # fmt: skip
)

# Forms matched on the transliterated, lowercased text (punctuation still in place).
_LATIN_FORMS = re.compile(
    "|".join(
        (
            _words(
                "limited liability company",
                "private joint stock company",
                "public joint stock company",
                "joint stock company",
                "non governmental organisation",
                "non governmental organization",
                "public organisation",
                "public organization",
                "public union",
                "charitable foundation",
                "charity foundation",
                "charitable fund",
                "charitable organisation",
                "charitable organization",
                "private enterprise",
                "state enterprise",
                "communal enterprise",
                "municipal enterprise",
                "individual entrepreneur",
                "sole proprietor",
                "llc",
                "ltd",
                "limited",
                "inc",
                "incorporated",
                "corp",
                "plc",
                "llp",
                "gmbh",
                "ngo",
                "jsc",
                "pjsc",
                "prjsc",
                "ojsc",
                "cjsc",
                "tov",
                "tzov",
                "prat",
                "fop",
                "udruzenje gradjana",
                "udruzenje gradana",
                "udruga gradjana",
                "udruga gradana",
                "udruzenje",
                "udruga",
                "ug",
            ),  # fmt: skip
            _dotted("llc", "ug"),
        )
    )
)
# BHS company forms: anything after one (not at the start) is the registered seat.
_BHS_COMPANY_FORMS = re.compile(
    "|".join(
        (
            _words(
                "drustvo s ogranicenom odgovornoscu",
                "drustvo sa ogranicenom odgovornoscu",
                "jednostavno drustvo s ogranicenom odgovornoscu",
                "jednostavno drustvo sa ogranicenom odgovornoscu",
                "dionicko drustvo",
                "akcionarsko drustvo",
                "doo",
                "jdoo",
            ),
            _dotted("jdoo", "doo", "dd", "ad", "od", "kd", "sp"),
            r"(?<=\S\s)dd(?!\w)",  # "Bosnalijek dd": after another word, never initials
        )
    )
)
_LEADING_ARTICLE = re.compile(r"^\s*the\s+")


def _transliterated(text: str) -> str:
    return _fold(anyascii(text).lower())


def _without_forms(text: str) -> str:
    """``text`` (transliterated) without its legal-form words, or as it was if nothing else
    would be left."""
    stripped = _LATIN_FORMS.sub(" ", text)
    seat = _BHS_COMPANY_FORMS.search(stripped)
    if seat is not None and stripped[: seat.start()].strip(" \"'<>,-"):
        stripped = stripped[: seat.start()]
    stripped = _BHS_COMPANY_FORMS.sub(" ", stripped)
    stripped = _LEADING_ARTICLE.sub(" ", stripped)
    return stripped if _NOT_LETTER_OR_DIGIT.sub("", stripped) else text


def _sounds(word: str) -> str:
    """The word (transliterated and folded) with the letters of one sound merged (step 5)."""
    for spelling, sound in _LETTERS:
        word = word.replace(spelling, sound)
    word = _RUNS.sub(r"\1", word)
    return _RUNS.sub(r"\1", word.replace("ie", "e"))


def name_key(name: str | None) -> str:
    """The key two spellings of one organisation's name share (see the module); "" for none."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _APOSTROPHES.sub("", text)
    without_cyrillic_forms = _CYRILLIC_FORMS.sub(" ", text)
    if _NOT_LETTER_OR_DIGIT.sub("", _transliterated(without_cyrillic_forms)):
        text = without_cyrillic_forms
    text = _without_forms(_transliterated(text))
    words = _NOT_LETTER_OR_DIGIT.sub(" ", text).split()
    return "".join(_sounds(word) for word in words)[:KEY_LENGTH]


def email_key(email: str | None) -> str:
    """The address as compared: trimmed, in lower case; "" for none."""
    return (email or "").strip().lower()


# ---------------------------------------------------------------- lookups

# Which of the three matched, in the order the page lists them.
REGISTRATION_NUMBER, EMAIL, NAME = "registration_number", "email", "name"
KINDS = (REGISTRATION_NUMBER, EMAIL, NAME)
_COLUMNS = {
    REGISTRATION_NUMBER: Application.registration_number,
    EMAIL: Application.email_key,
    NAME: Application.name_key,
}
# At most this many are listed on an application's page, the newest first.
LISTED = 50


def _keys(application: Application) -> dict[str, str]:
    """The application's non-empty values of the three, by kind."""
    values = {
        REGISTRATION_NUMBER: application.registration_number or "",
        EMAIL: application.email_key or "",
        NAME: application.name_key or "",
    }
    return {kind: value for kind, value in values.items() if value}


@dataclass(frozen=True)
class PossibleDuplicate:
    """Another application that shares ``matched`` (kinds from ``KINDS``) with the one shown."""

    application: Application
    matched: tuple[str, ...]


def possible_duplicates(application: Application, scope: Select) -> list[PossibleDuplicate]:
    """Other applications within ``scope`` (a select of ``Application`` the viewer may see) with
    the same registration number, e-mail address or name key, newest first (at most
    ``LISTED``). None for an application without any of the three (an anonymised one)."""
    keys = _keys(application)
    if not keys:
        return []
    # One indexed lookup per value, then the rows by id: an OR of the three in one WHERE lets
    # SQLite (without statistics) walk the coordinator's partnership index instead.
    ids = union_all(
        *(
            scope.with_only_columns(Application.id, maintain_column_froms=True)
            .where(_COLUMNS[kind] == value)
            .order_by(None)
            for kind, value in keys.items()
        )
    ).subquery()
    query = (
        select(Application)
        .where(Application.id.in_(select(ids.c.id)), Application.id != application.id)
        .order_by(Application.created_at.desc(), Application.id.desc())
        .limit(LISTED)
    )
    found = []
    for other in db.session.scalars(query):
        theirs = _keys(other)
        matched = tuple(kind for kind in KINDS if kind in keys and theirs.get(kind) == keys[kind])
        found.append(PossibleDuplicate(other, matched))
    return found


def marked_rows(rows: list[Application], scope: Select) -> dict[int, tuple[str, ...]]:
    """For a list page: the ids of ``rows`` that share a value with another application in
    ``scope``, each with the kinds shared.

    ``rows`` must be within ``scope`` (the list shows what the viewer may see). One statement,
    one index lookup per value of the page's rows: for each value, how many applications in
    scope hold it; two or more means another one does.
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for kind, value in _keys(row).items():
            wanted[kind].add(value)
    if not wanted:
        return {}
    counts = [
        scope.with_only_columns(
            literal(kind).label("kind"),
            _COLUMNS[kind].label("value"),
            func.count().label("number"),
            maintain_column_froms=True,
        )
        .where(_COLUMNS[kind].in_(sorted(values)))
        .group_by(_COLUMNS[kind])
        .order_by(None)
        for kind, values in wanted.items()
    ]
    shared = {
        (kind, value)
        for kind, value, number in db.session.execute(union_all(*counts))
        if number > 1
    }
    marked = {}
    for row in rows:
        kinds = tuple(kind for kind, value in _keys(row).items() if (kind, value) in shared)
        if kinds:
            marked[row.id] = kinds
    return marked
