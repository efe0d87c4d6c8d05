"""The in-memory index of the public pages, one small inverted index per language, and queries.

Each language's index holds every page a reader of that language can open (content pages,
the home page, news items, partnership pages and the section introductions; English where a
page has no translation yet, as the site shows it). For each key (see ``text``) it records
which pages have it in their title, how often in their text (summary and body), and where it
first occurs in the body, so a query is a few dictionary lookups plus a sort, and the snippet
is cut around a position already known.
"""

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from html.parser import HTMLParser

from ..content import ContentStore, Page
from ..i18n import LANGUAGES
from .text import is_stopword, keys_for, normalise, tokens

# Longer queries are cut here (the search box says so with maxlength).
MAX_QUERY_LENGTH = 200
# Words of a query that count; the rest are ignored, which bounds a query's cost.
MAX_TERMS = 8
# A query word also finds the longer words it begins ("Херсон" finds "Херсонщині"), when
# its key has at least this many letters; at most this many longer keys per key.
MIN_PREFIX = 5
MAX_PREFIX_KEYS = 50
# A snippet: this many characters of text before the first match, and this many in all.
SNIPPET_CONTEXT = 60
SNIPPET_LENGTH = 220
ELLIPSIS = "…"

# Elements that end a run of text: their words must not run into the next element's.
_BLOCK_TAGS = (
    "address article aside blockquote br dd details div dl dt figcaption figure footer h1 h2 "
    "h3 h4 h5 h6 header hr li main nav ol p pre section summary table td th tr ul"
)
_BLOCKS = frozenset(_BLOCK_TAGS.split(" "))
_HIDDEN = frozenset(("script", "style", "template"))


class _TextExtractor(HTMLParser):
    """The words a reader sees in rendered Markdown, without tags; blocks kept apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # inside <script>, <style> or <template>: nothing a reader sees

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        # Line breaks inside a paragraph are only spaces; "\n" marks the blocks' ends.
        if not self.hidden:
            self.parts.append(data.replace("\n", " "))


def plain_text(html: str) -> str:
    """The text of an HTML fragment: a line per block (paragraph, heading, list item…),
    whitespace within it collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Field:
    """A piece of a page's text and its words: where each starts and ends, and its keys."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    keys: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, lang: str, text: str) -> "Field":
        """Tokenise ``text`` in a language."""
        text = normalise(text)
        found = tokens(text)
        return cls(
            text,
            tuple(start for start, _, _ in found),
            tuple(end for _, end, _ in found),
            tuple(keys_for(lang, word) for _, _, word in found),
        )


@dataclass(frozen=True)
class Hit:
    """One result: the page's path and title, and the snippet as (text, is_match) pieces."""

    path: str
    title: str
    snippet: tuple[tuple[str, bool], ...]


class _Posting:
    """What one key says about one page."""

    __slots__ = ("in_title", "count", "first_in_body", "first_in_summary")

    def __init__(self):
        self.in_title = False
        self.count = 0
        self.first_in_body: int | None = None
        self.first_in_summary: int | None = None


@dataclass(frozen=True)
class _Document:
    path: str
    title: str
    title_words: int
    summary: Field
    body: Field


def parse_query(lang: str, query: str) -> list[frozenset[str]]:
    """The query's terms, each the set of keys of one word; common words are left out when
    there are others, repeated words count once, and at most ``MAX_TERMS`` are kept."""
    words = [word for _, _, word in tokens(normalise(query[:MAX_QUERY_LENGTH]))]
    significant = [word for word in words if not is_stopword(lang, word)] or words
    terms: list[frozenset[str]] = []
    for word in significant:
        keys = keys_for(lang, word)
        if keys not in terms:
            terms.append(keys)
        if len(terms) == MAX_TERMS:
            break
    return terms


def snippet(field: Field, first: int, wanted: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    """About ``SNIPPET_LENGTH`` characters of the field from a little before its token
    ``first`` (not before the paragraph it is in), in (text, is_match) pieces, cut between
    words."""
    text = field.text
    match_start = field.starts[first]
    block_start = text.rfind("\n", 0, match_start) + 1
    if match_start - SNIPPET_CONTEXT <= block_start:
        begin = block_start
        begin_token = bisect_left(field.starts, begin)
    else:
        begin_token = bisect_left(field.starts, match_start - SNIPPET_CONTEXT)
        begin = field.starts[begin_token]
    limit = begin + SNIPPET_LENGTH
    if limit >= len(text):
        end_token, end = len(field.starts), len(text)
    else:
        end_token = max(bisect_right(field.ends, limit), first + 1)
        end = field.ends[end_token - 1]
    pieces: list[tuple[str, bool]] = []
    if begin > 0 and text[begin - 1] != "\n":
        pieces.append((ELLIPSIS, False))
    position = begin
    for index in range(begin_token, end_token):
        if field.keys[index].isdisjoint(wanted):
            continue
        start, stop = field.starts[index], field.ends[index]
        if start > position:
            pieces.append((text[position:start], False))
        pieces.append((text[start:stop], True))
        position = stop
    if end > position:
        pieces.append((text[position:end], False))
    if end < len(text):
        pieces.append((ELLIPSIS, False))
    return tuple(pieces)


class LanguageIndex:
    """The pages of one language and the keys that lead to them."""

    def __init__(self, lang: str, pages: list[Page], phrases: tuple[tuple[str, str], ...] = ()):
        self.lang = lang
        # The page's placeholders ({reply-time}) as readers see them, by page language.
        self.phrases = dict(phrases)
        self.documents: list[_Document] = []
        self.postings: dict[str, dict[int, _Posting]] = {}
        for page in pages:
            self._add(page)
        self.vocabulary = sorted(self.postings)

    def _as_read(self, page: Page) -> str:
        phrase = self.phrases.get(page.lang)
        return page.html.replace("{reply-time}", phrase) if phrase else page.html

    def _posting(self, key: str, number: int) -> _Posting:
        pages = self.postings.setdefault(key, {})
        if number not in pages:
            pages[number] = _Posting()
        return pages[number]

    def _add(self, page: Page) -> None:
        number = len(self.documents)
        document = _Document(
            page.path,
            page.title,
            len(tokens(normalise(page.title))),
            Field.of(self.lang, page.summary),
            Field.of(self.lang, plain_text(self._as_read(page))),
        )
        self.documents.append(document)
        for _, _, word in tokens(normalise(f"{page.title} {page.nav_title}")):
            for key in keys_for(self.lang, word):
                self._posting(key, number).in_title = True
        for position, keys in enumerate(document.summary.keys):
            for key in keys:
                posting = self._posting(key, number)
                posting.count += 1
                if posting.first_in_summary is None:
                    posting.first_in_summary = position
        for position, keys in enumerate(document.body.keys):
            for key in keys:
                posting = self._posting(key, number)
                posting.count += 1
                if posting.first_in_body is None:
                    posting.first_in_body = position

    def _with_longer(self, keys: frozenset[str]) -> frozenset[str]:
        """A term's keys and the keys that begin with them: a word typed in part, or a form
        the dictionary lacks that is the start of another ("партнерств", "Херсон")."""
        longer: set[str] = set()
        for key in keys:
            if len(key) < MIN_PREFIX:
                continue
            position = bisect_left(self.vocabulary, key)
            end = min(len(self.vocabulary), position + MAX_PREFIX_KEYS)
            while position < end and self.vocabulary[position].startswith(key):
                longer.add(self.vocabulary[position])
                position += 1
        return keys | longer

    def search(self, query: str) -> list[Hit]:
        """The pages matching any of the query's words, best first.

        Best: more of the query's words found; then more of them in the title; then the
        shorter title; then more occurrences; then by title and path, so equal pages always
        come in the same order.
        """
        terms = [self._with_longer(keys) for keys in parse_query(self.lang, query)]
        # page number → [words found, words in the title, occurrences, first body, first summary]
        found: dict[int, list] = {}
        for keys in terms:
            for_term: dict[int, list] = {}
            for key in keys:
                for number, posting in self.postings.get(key, {}).items():
                    entry = for_term.setdefault(number, [False, 0, None, None])
                    entry[0] |= posting.in_title
                    entry[1] = max(entry[1], posting.count)
                    entry[2] = _earliest(entry[2], posting.first_in_body)
                    entry[3] = _earliest(entry[3], posting.first_in_summary)
            for number, (in_title, count, first_body, first_summary) in for_term.items():
                score = found.setdefault(number, [0, 0, 0, None, None])
                score[0] += 1
                score[1] += in_title
                score[2] += count
                score[3] = _earliest(score[3], first_body)
                score[4] = _earliest(score[4], first_summary)

        def rank(number: int):
            words, in_title, count, _, _ = found[number]
            document = self.documents[number]
            # Of two titles with the word, the shorter is more about it ("News" for "news").
            title_words = document.title_words if in_title else 0
            return (
                -words,
                -in_title,
                title_words,
                -count,
                document.title.casefold(),
                document.path,
            )

        wanted = frozenset().union(*terms) if terms else frozenset()
        hits = []
        for number in sorted(found, key=rank):
            document = self.documents[number]
            first_body, first_summary = found[number][3:]
            if first_body is not None:
                pieces = snippet(document.body, first_body, wanted)
            elif first_summary is not None:
                pieces = snippet(document.summary, first_summary, wanted)
            else:  # found by its title only: its summary says what it is about
                pieces = ((document.summary.text, False),)
            hits.append(Hit(document.path, document.title, pieces))
        return hits


def _earliest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


# Indexes already built in this process, by language and pages: an app started again on the
# same content (every test builds one) reuses them. A LanguageIndex never changes once built.
_BUILT: OrderedDict[tuple, LanguageIndex] = OrderedDict()
_BUILT_LOCK = threading.Lock()
_BUILT_MAX = 8


def language_index(
    lang: str, pages: list[Page], phrases: tuple[tuple[str, str], ...] = ()
) -> LanguageIndex:
    """The index of these pages in a language, built once per process."""
    # A page's version covers its title, summary and text, from which its HTML is rendered.
    pages_key = tuple((page.path, page.lang, page.version, page.nav_title) for page in pages)
    key = (lang, pages_key, phrases)
    with _BUILT_LOCK:
        index = _BUILT.get(key)
    if index is None:
        index = LanguageIndex(lang, pages, phrases)
        with _BUILT_LOCK:
            _BUILT[key] = index
            while len(_BUILT) > _BUILT_MAX:
                _BUILT.popitem(last=False)
    return index


class SearchIndex:
    """An index per site language, built from the content store as it was at one moment."""

    def __init__(self, store: ContentStore, phrases: tuple[tuple[str, str], ...] = ()):
        paths = store.paths()
        self.generation = store.generation  # read after paths(), which may reload (debug)
        self.languages = {
            lang: language_index(
                lang,
                [page for page in (store.find(lang, path) for path in paths) if page],
                phrases,
            )
            for lang in LANGUAGES
        }

    def search(self, lang: str, query: str) -> list[Hit]:
        """The pages of a language that match the query, best first."""
        return self.languages[lang].search(query)
