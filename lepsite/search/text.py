"""Words as the index and the query see them: tokens, and the keys each token is filed under.

A token is filed under a few keys, and a query word finds a page when the two share one.
Every key is computed the same way for the page and for the query, so whatever a reader
types is taken through the same steps as the text:

- All languages: Unicode NFC, lower case, every apostrophe glyph (ʼ ’ ‘ ` ') as ``'``.
- English: the word's lemma (simplemma) and the word itself, each through the Snowball
  ``english`` stemmer (PyStemmer), accents dropped: "partnerships" → ``partnership``.
- BHS: the lemma, the word, and the word without diacritics, each through the Snowball
  ``serbian`` stemmer (which also maps ijekavian to ekavian and ``dj`` to ``đ``), then folded
  (č ć → c, š → s, ž → z, đ → d). So "zaposljavanja", "zapošljavanja" and "zapošljavanje"
  share ``zaposljavanj``, and "medjunarodna", "medunarodna" and "međunarodna" share
  ``medunarodn``: đ typed as dj or as d both work. The unfolded variants matter because
  simplemma only knows words spelt with their diacritics ("partnerstava" → ``partnerstvo``).
- Ukrainian: Snowball has no Ukrainian stemmer, so lemmas only (simplemma's ``uk``
  dictionary), looked up as written, in lower case and capitalised (``київ`` alone is read
  as a form of ``кий``; ``Києві`` → ``київ``), plus the word itself; ``ґ`` counts as ``г``.

simplemma runs in its ``low_memory`` mode: a few megabytes per language instead of some
150 MB per process for the three dictionaries, for lookups of tens of microseconds, which the
key cache below pays once per distinct word.
"""

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer
from simplemma import Lemmatizer
from simplemma.strategies import DefaultStrategy

# simplemma's code for each site language ("hbs": Bosnian, Croatian, Serbian, Montenegrin).
LEMMA_LANGUAGES = {"en": "en", "bs": "hbs", "uk": "uk"}
STEMMERS = {"en": "english", "bs": "serbian"}

# Apostrophes people type in Ukrainian words (пам'ять, пам’ять, памʼять), and the one kept.
APOSTROPHES = "\u02bc\u2019\u2018`\u00b4\u02b9\u2032"
_APOSTROPHE_TABLE = str.maketrans(dict.fromkeys(APOSTROPHES, "'"))

# A word: letters and digits, with apostrophes only inside (so quotes around a word go).
TOKEN = re.compile(r"\w+(?:'\w+)*")

# Longer "words" are not looked up: no real one is this long, and simplemma's decompositions
# of a long unknown word take milliseconds.
MAX_LEMMA_LENGTH = 24

_BHS_FOLD = str.maketrans({"č": "c", "ć": "c", "š": "s", "ž": "z", "đ": "d"})
_UK_FOLD = str.maketrans({"ґ": "г"})

# Words too common to say anything about a page; dropped from a query that has other words.
# Folded as ``fold`` folds them ("šta" is "sta").
STOPWORDS = {
    "en": "a an and are as at be by for from how in is it of on or our that the this to we what "
    "who with you your",
    "bs": "a ali da do i ili iz je k ka kao li na ne o od po pri s sa se su sta sto te to u uz za",
    "uk": "а але в від до з за зі із й і на не по при та у це чи що як",
}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in STOPWORDS.items()}

_lemmatizer = Lemmatizer(
    cache_max_size=0,  # keys_for() below caches what is worth keeping
    lemmatization_strategy=DefaultStrategy(low_memory=True),
)
# PyStemmer's objects are not thread-safe: each thread gets its own.
_local = threading.local()


def normalise(text: str) -> str:
    """Unicode NFC: one spelling of each letter (й, ї), as the dictionaries have them."""
    return unicodedata.normalize("NFC", text)


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of every word in ``normalise``d text; in the word every apostrophe
    is ``'``, while the offsets still point into ``text`` as it was (one glyph for one)."""
    searchable = text.translate(_APOSTROPHE_TABLE)
    return [(match.start(), match.end(), match.group()) for match in TOKEN.finditer(searchable)]


def fold(lang: str, word: str) -> str:
    """Lower case and the spelling differences a reader may not type (see the module text)."""
    word = word.lower()
    if lang == "bs":
        return word.translate(_BHS_FOLD)
    if lang == "uk":
        return word.translate(_UK_FOLD)
    # English (and Latin words anywhere): drop accents, "café" = "cafe".
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def is_stopword(lang: str, word: str) -> bool:
    """True for a word too common to search for in that language."""
    return fold(lang, word) in _STOPWORDS[lang]


def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    """This thread's Snowball stemmer for the language, or None (Ukrainian)."""
    if lang not in STEMMERS:
        return None
    stemmers = _local.__dict__.setdefault("stemmers", {})
    if lang not in stemmers:
        stemmers[lang] = Stemmer.Stemmer(STEMMERS[lang])
    return stemmers[lang]


def _lemmas(lang: str, word: str) -> set[str]:
    """The word's lemmas as written, in lower case and capitalised (proper nouns)."""
    if len(word) > MAX_LEMMA_LENGTH:
        return set()
    code = LEMMA_LANGUAGES[lang]
    spellings = {word, word.lower(), word[:1].upper() + word[1:].lower()}
    return {_lemmatizer.lemmatize(spelling, code) for spelling in spellings}


@lru_cache(maxsize=50_000)
def keys_for(lang: str, word: str) -> frozenset[str]:
    """Every key a word from ``tokens`` is filed under, in a site language."""
    variants = _lemmas(lang, word) | {word}
    stemmer = _stemmer(lang)
    if lang == "bs":
        variants |= {fold(lang, word)}
    if stemmer is None:
        return frozenset(fold(lang, variant) for variant in variants)
    return frozenset(fold(lang, stemmer.stemWord(variant.lower())) for variant in variants)
