"""The admin list's search box: what it finds, and how it stays fast at a million rows.

An application is found by its reference, organisation name, contact name, e-mail address or
municipality, whatever the letter case, diacritics, apostrophes or script:

- **A whole reference** (``LEP-2026-000123``) **or a whole e-mail address** is an exact look-up
  on an index: the reference's unique one, or the one on ``email_key`` (the address in lower
  case, kept for finding duplicates), so letter case does not matter.
- **Anything else** is split into words of letters and digits; an application matches when
  every word occurs in it, anywhere inside a word ("valenk" finds Kovalenko). Words of two
  characters match the start of a word only ("ko" finds Kovač, not Marko); words of one
  character only narrow a search that has a longer word ("Olena K"). A search with no word of
  two characters or more is refused with a message, never a scan of every row.

The words are compared in a **folded** form, computed in Python by ``fold_words`` on both
sides, the text stored and the search typed:

- Unicode NFKC, lower case (``casefold``); apostrophes (ʼ ’ ‘ ' ` ´) dropped inside words, so
  "Пʼятниця", "П'ятниця" and "Пятниця" are one word; any other punctuation separates words.
- Latin letters lose their diacritics (č ć → c, š → s, ž → z, é → e) and đ and "dj" both
  become d: "Đurđević", "Djurdjevic", "Durdevic" and "ĐURĐEVIĆ" all fold to ``durdevic``.
- Cyrillic keeps its letters (й, ї, є stay themselves) but ґ counts as г and ё as е.
- **Latin finds Cyrillic, and Cyrillic finds Latin.** Each Cyrillic word is also stored, and
  searched, transliterated: by the Ukrainian national system (KMU 2010, as in Ukrainian
  passports: Ірина → iryna, Київ → kyiv, Щербак → shcherbak) and by the Serbian one
  (Ђурђевић → durdevic). A word with Ukrainian-only letters (і ї є ґ) gets the Ukrainian
  form only, one with Serbian-only letters (ђ ј љ њ ћ џ) the Serbian form only, any other
  both. anyascii is not used for Cyrillic (it spells Київ "Kiiv" and Ірина "Irina", not how
  Ukrainians write their names in Latin); it folds other Latin letters (ł, ø, æ).

The folded words live in ``applications.search_text`` (one string: a space before every
word; the reference and the e-mail address whole, in lower case), written by the column's
default on every insert, bulk inserts included, and by the ``before_update`` hook below
whenever a searched field changes (a correction, an admin's change, anonymisation and
erasure blanking them). The databases index that column:

- SQLite: an FTS5 table ``applications_search`` with the ``trigram`` tokenizer, holding no
  copy of the text (``content='applications'``), kept in step by three triggers. Each word
  of the search becomes a quoted FTS5 string, so FTS5 syntax typed into the box (``"``,
  ``NEAR``, ``AND``, ``-``, ``^``, ``:``, ``*``) is only ever text.
- PostgreSQL: ``pg_trgm``'s GIN trigram index on the column; each word is a ``LIKE`` whose
  wildcards come from us alone (the words hold only letters and digits).

A two-character word is searched as " ko" (space first): three characters, so a trigram the
index knows. Migration ``a06d2f550006`` builds all of it; ``create_all`` (the tests) gets the
same through the DDL hooks at the end of this module.

**Counting.** A word search counts its matches up to ``COUNT_LIMIT``; past it the list says
"more than 100" and still shows the newest first, page by page. A word found in a sixth of
a million applications cannot be counted exactly without reading all of them, which is what
kept the old search at hundreds of milliseconds. Which index gives the rows on SQLite (it has
no statistics to choose by) is decided per search in ``_with_words``.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from anyascii import anyascii
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    ColumnElement,
    Join,
    Select,
    String,
    bindparam,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import column, table

from ..extensions import db
from ..membership.duplicates import email_key
from ..models import Application

# The fields searched, in the order their words are stored.
SEARCHED_FIELDS = ("reference", "organisation_name", "contact_name", "email", "municipality")

# The FTS5 table (SQLite) and the trigram index (PostgreSQL) over applications.search_text.
FTS_TABLE = "applications_search"
TRIGRAM_INDEX = "ix_applications_search_text_trgm"
# Indexes of one database only (SQLite's below, PostgreSQL's trigram one): not in the models.
NOT_IN_MODELS = {
    TRIGRAM_INDEX,
    "ix_applications_search_newest",
    "ix_applications_search_partnership",
}

# The search box's limit (the input's maxlength); longer input is cut, not refused.
MAX_LENGTH = 100
# At most this many words are searched for; more would only slow the query down.
MAX_WORDS = 8
# A word search counts its matches up to this many; beyond, the list says "more than".
COUNT_LIMIT = 100
# SQLite: a word with at most this many matches gives the rows (see _with_words).
FTS_DRIVE_LIMIT = 2000
# SQLite: a word with at most this many matches gives them as ids, from one FTS5 look-up.
FEW_MATCHES = 200

TOO_SHORT = _l("Type at least two letters or digits to search.")

REFERENCE = re.compile(r"LEP-\d{4}-\d{6}", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Apostrophes typed inside words (Ukrainian пам'ять, English Employers'): dropped.
_APOSTROPHES = re.compile("['\u02bc\u2019\u2018`\u00b4\u02b9\u2032]")
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_UK_ONLY = set("іїєґ")
_SR_ONLY = set("ђјљњћџ")

# Ukrainian national transliteration (KMU 2010); the second form is for the start of a word.
_UK = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": ("ie", "ye"),
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": ("i", "yi"), "й": ("i", "y"), "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "",
    "ю": ("iu", "yu"), "я": ("ia", "ya"),
    # Russian letters, as Ukrainian spelling would write them.
    "ё": "e", "ы": "y", "э": "e", "ъ": "",
}  # fmt: skip
# Serbian Cyrillic to Gaj's Latin alphabet (folded afterwards).
_SR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z",
    "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c",
    "ч": "č", "џ": "dž", "ш": "š",
}  # fmt: skip


# ---------------------------------------------------------------- folding


@lru_cache(maxsize=100_000)
def _fold_word(word: str) -> str:
    """One word (letters and digits, already lower case) in its folded form."""
    if not word.isascii():
        letters = []
        for char in word:
            if char.isascii() or _CYRILLIC.match(char):
                letters.append(char)
                continue
            bare = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            letters.append(bare if bare.isascii() else _latin(bare))
        word = "".join(letters).replace("ґ", "г").replace("ё", "е")
    return word.replace("dj", "d")


def _latin(char: str) -> str:
    """A Latin letter without an ASCII decomposition (đ ł ø æ) as ASCII; others unchanged."""
    if "LATIN" in unicodedata.name(char, ""):
        return anyascii(char).lower()
    return char


def _transliterate(word: str, letters: dict) -> str:
    """A lower-case Cyrillic word in Latin letters, by one of the tables above."""
    out = []
    for position, char in enumerate(word):
        spelling = letters.get(char, char)
        if isinstance(spelling, tuple):
            spelling = spelling[1] if position == 0 else spelling[0]
        elif letters is _UK and char == "г" and word[position - 1 : position] == "з":
            spelling = "gh"  # KMU 2010: зг is "zgh", so it is not read as ж ("zh")
        out.append(spelling)
    return "".join(out)


@lru_cache(maxsize=100_000)
def _word_forms(word: str) -> tuple[str, ...]:
    """The folded word and, for a Cyrillic one, its folded transliterations."""
    forms = [_fold_word(word)]
    cyrillic = set(_CYRILLIC.findall(word))
    if cyrillic:
        # Ukrainian, Serbian, or both for a word either could spell (Ковач: kovach, kovac).
        tables = [_UK] if cyrillic & _UK_ONLY else [_SR] if cyrillic & _SR_ONLY else [_UK, _SR]
        for letters in tables:
            if cyrillic <= letters.keys():
                forms.append(_fold_word(_transliterate(word, letters)))
    return tuple(dict.fromkeys(form for form in forms if form))


def _words(value: str) -> list[str]:
    """The words of a text: NFKC, lower case, apostrophes out, split at anything else."""
    # Most text is ASCII: the same steps, a good deal faster.
    value = value.lower() if value.isascii() else _casefolded(value)
    return _WORD.findall(_APOSTROPHES.sub("", value))


@lru_cache(maxsize=20_000)
def _field_words(value: str) -> tuple[str, ...]:
    """Every folded form of every word of one field's value (names and places repeat)."""
    return tuple(form for word in _words(value) for form in _word_forms(word))


def fold_words(value: str) -> list[list[str]]:
    """Each word of ``value`` with its folded forms (the first is the word itself)."""
    return [list(_word_forms(word)) for word in _words(value)]


def search_text_of(values: dict) -> str:
    """What ``applications.search_text`` holds for these field values: every folded form of
    every word, each once, each after a space (so " ko" finds a word that starts "ko").

    The reference and the e-mail address are kept whole, in lower case: the words of a search
    ("ukr.net" is "ukr" and "net") are found inside them.
    """
    words: list[str] = []
    for name in SEARCHED_FIELDS:
        value = values.get(name) or ""
        if name in ("reference", "email"):  # whole: "ukr.net" and "000123" are inside
            value = "".join(value.split())
            if value:
                words.append(_casefolded(value))
        elif value:
            words.extend(_field_words(value))
    return "".join(" " + word for word in dict.fromkeys(words))


def _casefolded(value: str) -> str:
    """NFKC and lower case (plain ``lower`` for ASCII, which is the same there)."""
    return value.lower() if value.isascii() else unicodedata.normalize("NFKC", value).casefold()


# ---------------------------------------------------------------- keeping it in step


@event.listens_for(Application, "before_update")
def _refresh_search_text(mapper, connection, target: Application) -> None:
    """A searched field changed (a correction, the reference set after the first insert,
    anonymisation or erasure blanking it): store the search text anew."""
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in SEARCHED_FIELDS):
        target.search_text = search_text_of(
            {name: getattr(target, name) for name in SEARCHED_FIELDS}
        )


# ---------------------------------------------------------------- the search itself


@dataclass
class Search:
    """A search as typed, read once: the kind of look-up and the words to look for."""

    typed: str = ""
    kind: str = ""  # "", "reference", "email", "words" or "too_short"
    # Each group: the folded forms of one word (any of them may match); all groups must.
    groups: list[list[str]] = field(default_factory=list)
    # Words of one character: they narrow what the others found.
    initials: list[str] = field(default_factory=list)
    _rarest: tuple[int, int, list[int] | None] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def parse(cls, typed: str) -> "Search":
        """Read what was typed into the box; never fails, whatever the input."""
        typed = " ".join(typed.split())[:MAX_LENGTH].strip()
        if not typed:
            return cls()
        if REFERENCE.fullmatch(typed):
            return cls(typed, "reference")
        if EMAIL.fullmatch(typed):
            return cls(typed, "email")
        groups, initials = [], []
        for forms in fold_words(typed):
            if len(forms[0]) == 1:
                if forms[0] not in initials:
                    initials.append(forms[0])
            elif forms not in groups:
                groups.append(forms)
        if not groups:
            return cls(typed, "too_short")
        return cls(typed, "words", groups[:MAX_WORDS], initials[:MAX_WORDS])

    @property
    def error(self):
        """The message to show beside the box, or None."""
        return TOO_SHORT if self.kind == "too_short" else None

    @property
    def count_limit(self) -> int | None:
        """How far the list counts the matches of this search (None: all of them)."""
        return COUNT_LIMIT if self.kind == "words" else None

    def apply(self, query: Select) -> Select:
        """``query`` narrowed to the applications this search finds."""
        if self.kind == "reference":
            return query.where(Application.reference == self.typed.upper())
        if self.kind == "email":
            exact = Application.email_key == email_key(self.typed)
            if db.session.get_bind().dialect.name != "sqlite":
                return query.where(exact)
            # SQLite would rather read a coordinator's partnership in date order (no sort)
            # than take the address's few rows from its index, and sort them: make it.
            hits = select(Application.id).where(exact).subquery("exact")
            return query.select_from(
                _Driving(hits, Application.__table__, hits.c.id == Application.id)
            )
        if self.kind == "too_short":
            return query.where(false())  # nothing, at no cost; the message says why
        if self.kind == "words":
            return _with_words(query, self)
        return query

    def reads_in_list_order(self) -> bool:
        """Whether, on SQLite, the query this search makes reads the list in its own order (no
        search, or only common words), rather than starting from an index of its own."""
        if db.session.get_bind().dialect.name != "sqlite":
            return False
        if self.kind == "":
            return True
        return self.kind == "words" and self.rarest_on_sqlite()[0] > FTS_DRIVE_LIMIT

    def rarest_on_sqlite(self) -> tuple[int, int, list[int] | None]:
        """SQLite: how many rows FTS5 finds for the rarest word (counted up to just past
        ``FTS_DRIVE_LIMIT``), which word that is, and the ids of those rows when there are
        at most ``FEW_MATCHES``; asked once per search."""
        if self._rarest is None:
            counted = [
                (matches, index, ids)
                for index, (matches, ids) in enumerate(map(_fts_matches, self.groups))
            ]
            self._rarest = min(counted, key=lambda one: one[:2])
        return self._rarest

    def worth_reading_in_order(self) -> bool:
        """Whether ``lepsite.admin.queries`` should first read the list in its order, each row
        checked, before the word index: for a word search on PostgreSQL, which cannot tell
        cheaply how common the words are. (SQLite's FTS5 can, and its own way for common
        words already reads the list in order, from indexes that hold the words; see
        ``_with_words``.)"""
        return self.kind == "words" and db.session.get_bind().dialect.name != "sqlite"

    def check_rows(self, query: Select, search_text) -> Select:
        """``query`` narrowed to rows whose ``search_text`` (a column of its FROM) holds the
        words, each row checked by itself, no index: for a few thousand rows already chosen."""
        words, starts = _word_conditions(search_text, self)
        return query.where(*words, *starts)


def _pattern(form: str) -> str:
    """A form as a substring to look for; a two-character one as the start of a word."""
    return " " + form if len(form) == 2 else form


def _word_conditions(search_text, search: Search) -> tuple[list, list]:
    """Per group of forms, "the text holds one of them"; per initial, "a word of the text
    starts with it": SQLite's ``instr``, or on PostgreSQL a ``LIKE``, which its trigram
    index answers."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    contains = _contains_any if sqlite else _like_any
    words = [contains(search_text, [_pattern(form) for form in forms]) for forms in search.groups]
    starts = [contains(search_text, [" " + initial]) for initial in search.initials]
    return words, starts


def _with_words(query: Select, search: Search) -> Select:
    """Applications holding, for each group, one of its forms, and every initial as the first
    letter of a word.

    PostgreSQL: a ``LIKE`` per form, which the trigram index answers; its planner, knowing
    from its statistics how common a word is, chooses between that index and reading the
    list's order index until a page is full.

    SQLite plans without statistics, so the choice is made here. The FTS5 table first counts
    the matches of each word, stopping past ``FTS_DRIVE_LIMIT``. With a rarer word than that,
    it gives the rows of the rarest word (a ``CROSS JOIN``, which SQLite never reorders) and
    each of them is checked for the other words; with at most ``FEW_MATCHES``, their ids, as
    found by that count, so that the count and the page do not ask FTS5 again (FTS5's work
    for a word grows with the table when its trigrams are common, as "000" in references).
    When every word is that common, the list is read in its order (from its index) and each
    row checked for the words, which fills a page after a few hundred rows instead of sorting
    tens of thousands.
    """
    words, starts = _word_conditions(Application.search_text, search)
    if db.session.get_bind().dialect.name != "sqlite":
        return query.where(*words, *starts)
    matches, rarest, ids = search.rarest_on_sqlite()
    if matches > FTS_DRIVE_LIMIT:
        return query.where(*words, *starts)
    others = words[:rarest] + words[rarest + 1 :]
    if ids is not None:
        return query.where(Application.id.in_(ids), *others, *starts)
    driving = _Driving(_fts, Application.__table__, _fts.c.rowid == Application.id)
    return query.select_from(driving).where(_fts_match(search.groups[rarest]), *others, *starts)


def _contains_any(search_text, patterns: list[str]) -> ColumnElement[bool]:
    """The search text holds one of ``patterns`` (SQLite's instr: no wildcards)."""
    return or_(*(func.instr(search_text, pattern) > 0 for pattern in patterns))


def _like_any(search_text, patterns: list[str]) -> ColumnElement[bool]:
    """The search text holds one of ``patterns`` (a LIKE with no wildcard of theirs)."""
    return or_(*(search_text.like(f"%{_like(pattern)}%", escape="\\") for pattern in patterns))


def _like(value: str) -> str:
    """``value`` with LIKE's wildcards taken literally (escape character: backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_fts = table(FTS_TABLE, column("rowid"))


def _fts_match(forms: list[str]) -> ColumnElement[bool]:
    """FTS5's MATCH for any of ``forms``, each a quoted string (so never FTS5 syntax)."""
    query = " OR ".join('"' + _pattern(form).replace('"', '""') + '"' for form in forms)
    return text(f"{FTS_TABLE} MATCH :fts_query").bindparams(
        bindparam("fts_query", query, type_=String)
    )


def _fts_matches(forms: list[str]) -> tuple[int, list[int] | None]:
    """How many rows of the FTS5 table match, counted up to ``FTS_DRIVE_LIMIT + 1``, and
    their ids when there are at most ``FEW_MATCHES``: one look-up for both."""
    hits = select(_fts.c.rowid.label("id")).where(_fts_match(forms))
    hits = hits.limit(FTS_DRIVE_LIMIT + 1).subquery()
    number, ids = db.session.execute(select(func.count(), func.group_concat(hits.c.id))).one()
    if number > FEW_MATCHES:
        return number, None
    return number, [int(one) for one in ids.split(",")] if ids else []


class _Driving(Join):
    """A join that SQLite runs with its left side (the rows found) as the outer loop."""

    inherit_cache = True


@compiles(_Driving, "sqlite")
def _cross_join(join: _Driving, compiler, **kw) -> str:
    """SQLite's CROSS JOIN: the same join, with the order of the loops fixed."""
    kw["asfrom"] = True
    left, right = compiler.process(join.left, **kw), compiler.process(join.right, **kw)
    kw.pop("asfrom")
    return f"{left} CROSS JOIN {right} ON {compiler.process(join.onclause, **kw)}"


# ---------------------------------------------------------------- schema (create_all, tests)

# Migration a06d2f550006 runs the same statements on an existing database.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS applications_search USING fts5(search_text, "
    "content='applications', content_rowid='id', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER IF NOT EXISTS applications_search_insert AFTER INSERT ON applications "
    "BEGIN INSERT INTO applications_search(rowid, search_text) "
    "VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS applications_search_delete AFTER DELETE ON applications "
    "BEGIN INSERT INTO applications_search(applications_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS applications_search_update "
    "AFTER UPDATE OF search_text ON applications "
    "BEGIN INSERT INTO applications_search(applications_search, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO applications_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    # For a word in thousands of applications, the list is read in its order and each row
    # checked (see _with_words): these hold the words beside the order, so no row is read
    # for the check. SQLite only (PostgreSQL's planner reads its table well enough, and its
    # B-tree entries could not hold the longest search texts).
    "CREATE INDEX IF NOT EXISTS ix_applications_search_newest "
    "ON applications (created_at, anonymised_at, search_text)",
    "CREATE INDEX IF NOT EXISTS ix_applications_search_partnership "
    "ON applications (partnership_key, created_at, anonymised_at, search_text)",
)
POSTGRESQL_DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON applications "
    "USING gin (search_text gin_trgm_ops)",
)

for _statement in SQLITE_DDL:
    event.listen(
        Application.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite")
    )
for _statement in POSTGRESQL_DDL:
    event.listen(
        Application.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
event.listen(
    Application.__table__,
    "after_drop",
    DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"),
)


def in_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name``: leave out what the models cannot describe (the FTS5 table
    and its shadow tables, the indexes of one database only), so comparing the schema ignores
    them."""
    if type_ == "table" and name and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name in NOT_IN_MODELS)
