"""The content engine: Markdown pages with YAML front matter, rendered once and held in memory."""

import datetime as dt
import hashlib
import re
import threading
import time
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import yaml
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from .i18n import DEFAULT_LANGUAGE, LANGUAGES

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAV_PLACES = ("main", "footer")
PARTNERSHIP_STATUSES = ("launched", "underway", "completed")
COUNTRIES = ("UA", "BA")
NEWS_DATE_KINDS = ("published", "milestone")
# ``translates:`` in a BHS or Ukrainian page names the version of the English page it follows.
VERSION_PATTERN = re.compile(r"^[0-9a-f]{12}$")
# Site sections that are not Markdown pages but may be linked from Markdown.
APP_LINK_TARGETS = ("", "apply", "apply/status", "search", "news/", "partnerships/")


class ContentError(Exception):
    """A content file is broken; the message names the file and line."""


@dataclass(frozen=True)
class Page:
    """One rendered page in one language."""

    lang: str
    path: str  # "about", "news/kyiv-lep-launch", "partnerships/kyiv", "index"
    title: str
    summary: str
    html: str
    meta: dict
    source: Path
    links: tuple[str, ...] = field(default=())
    # A fingerprint of what a reader sees (title, summary, text): translations name it.
    version: str = ""

    @property
    def section(self) -> str:
        """``news``, ``partnerships`` or ``""`` for top-level pages."""
        return self.path.split("/")[0] if "/" in self.path else ""

    @property
    def slug(self) -> str:
        """The last part of the path."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def date(self) -> dt.date | None:
        """Publication date (news)."""
        return self.meta.get("date")

    @property
    def date_is(self) -> str:
        """What a news item's date is: ``published`` (the day this site published it) or
        ``milestone`` (a project's own date, from its source)."""
        return self.meta.get("date_is", "")

    @property
    def translates(self) -> str:
        """The version of the English page this translation follows ("" if none is named)."""
        return str(self.meta.get("translates") or "")

    @property
    def nav_title(self) -> str:
        """The short label for menus."""
        return self.meta.get("nav_title") or self.title

    def __repr__(self) -> str:
        return f"<Page {self.lang}/{self.path}>"


class _LinkCollector(Treeprocessor):
    """Prefix site links (``/about``) with the page's language and remember them."""

    def __init__(self, md, lang: str):
        super().__init__(md)
        self.lang = lang
        self.links: list[str] = []

    def run(self, root: etree.Element) -> None:
        for element in root.iter("a"):
            href = element.get("href", "")
            if href.startswith("/") and not href.startswith("//"):
                self.links.append(href)
                element.set("href", f"/{self.lang}{href}")


class _SiteLinks(Extension):
    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang
        self.collector: _LinkCollector | None = None

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's API name)
        self.collector = _LinkCollector(md, self.lang)
        md.treeprocessors.register(self.collector, "site_links", 1)


def _fail(path: Path, line: int | None, message: str) -> ContentError:
    where = f"{path}:{line}" if line else str(path)
    return ContentError(f"{where}: {message}")


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>.*?)^---[ \t]*\n?", re.DOTALL | re.MULTILINE)


def _parse(path: Path) -> tuple[dict, str, int]:
    """Split a file into front matter and body; returns the body's first line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise _fail(path, None, f"not UTF-8 ({error.reason})") from error
    match = _FRONT_MATTER.match(text)
    if not match:
        raise _fail(path, 1, "front matter missing: start with a '---' line and close it with one")
    try:
        meta = yaml.safe_load(match["yaml"])
    except yaml.YAMLError as error:
        # Where the broken construct began, which is what an author needs to look at.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1  # marks count from 0, after the opening '---'
        raise _fail(
            path, line, f"broken front matter: {getattr(error, 'problem', error)}"
        ) from None
    if not isinstance(meta, dict):
        raise _fail(path, 2, "front matter must be 'key: value' lines")
    body_start = text.count("\n", 0, match.end()) + 1
    return meta, text[match.end() :], body_start


def _validate(path: Path, rel: str, meta: dict, body: str, body_start: int) -> None:
    """Check the front matter and body against the rules in content/README.md."""
    for key in ("title", "summary"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise _fail(path, 2, f"front matter needs a '{key}' text")
    nav = meta.get("nav")
    if nav is not None and nav not in NAV_PLACES:
        raise _fail(path, 2, f"'nav' must be one of {', '.join(NAV_PLACES)}")
    if nav is not None and not isinstance(meta.get("order"), int):
        raise _fail(path, 2, "a page with 'nav' needs a whole-number 'order'")
    section, _, slug = rel.rpartition("/")
    is_news_item = section == "news" and slug != "index"
    if is_news_item and not isinstance(meta.get("date"), dt.date):
        raise _fail(path, 2, "a news item needs 'date: YYYY-MM-DD'")
    if is_news_item and meta.get("date_is") not in NEWS_DATE_KINDS:
        # A reader must be able to tell a report's date from the day a project began.
        raise _fail(path, 2, f"a news item needs 'date_is: {' or '.join(NEWS_DATE_KINDS)}'")
    if section == "partnerships" and slug != "index":
        if meta.get("key") != slug:
            raise _fail(path, 2, f"'key' must equal the file name ('{slug}')")
        if meta.get("country") not in COUNTRIES:
            raise _fail(path, 2, f"'country' must be one of {', '.join(COUNTRIES)}")
        if meta.get("status") not in PARTNERSHIP_STATUSES:
            raise _fail(path, 2, f"'status' must be one of {', '.join(PARTNERSHIP_STATUSES)}")
        if not isinstance(meta.get("accepts_applications"), bool):
            raise _fail(path, 2, "'accepts_applications' must be true or false")
        if not isinstance(meta.get("region"), str):
            raise _fail(path, 2, "a partnership needs a 'region' text")
    translates = meta.get("translates")
    if translates is not None and not VERSION_PATTERN.match(str(translates)):
        raise _fail(path, 2, "'translates' must be the 12-character version of the English page")
    for offset, line in enumerate(body.splitlines()):
        if re.match(r"^#(?!#)\s", line):
            raise _fail(
                path, body_start + offset, "use '##' headings: the title is the page's only h1"
            )


def page_version(title: str, summary: str, body: str) -> str:
    """What a translator translates, fingerprinted: a change anywhere in it makes a new one."""
    text = "\n".join((title.strip(), summary.strip(), body.strip().replace("\r\n", "\n")))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def render_file(path: Path, lang: str, rel: str) -> Page:
    """Read, check and render one content file."""
    if not all(SLUG_PATTERN.match(part) for part in rel.split("/")):
        raise _fail(path, None, "file names may use only a-z, 0-9 and single hyphens")
    meta, body, body_start = _parse(path)
    _validate(path, rel, meta, body, body_start)
    site_links = _SiteLinks(lang)
    md = markdown.Markdown(
        extensions=["extra", "sane_lists", "toc", site_links],
        extension_configs={"toc": {"permalink": False}},
        output_format="html",
    )
    try:
        html = md.convert(body)
    except Exception as error:  # Markdown extensions may raise anything
        raise _fail(path, body_start, f"Markdown could not be rendered: {error}") from error
    return Page(
        version=page_version(meta["title"], meta["summary"], body),
        lang=lang,
        path=rel,
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        html=html,
        meta=meta,
        source=path,
        links=tuple(site_links.collector.links if site_links.collector else ()),
    )


class ContentStore:
    """All pages of all languages, keyed by language and path."""

    def __init__(self, root: Path, auto_reload: bool = False):
        self.root = Path(root)
        self.auto_reload = auto_reload
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._pages: dict[tuple[str, str], Page] = {}
        self.generation = 0  # counts reloads, so caches of rendered pages know they are stale
        self._signature = self._read_signature()
        self._pages = self._load()

    def _files(self):
        for lang in LANGUAGES:
            base = self.root / lang
            if base.is_dir():
                for path in sorted(base.rglob("*.md")):
                    yield lang, path, path.relative_to(base).with_suffix("").as_posix()

    def _read_signature(self) -> tuple:
        return tuple((str(p), p.stat().st_mtime_ns) for _, p, _ in self._files())

    def _load(self) -> dict[tuple[str, str], Page]:
        return {(lang, rel): render_file(path, lang, rel) for lang, path, rel in self._files()}

    def _maybe_reload(self) -> None:
        """In debug, re-read the files at most once a second when any has changed."""
        if not self.auto_reload or time.monotonic() - self._checked_at < 1:
            return
        with self._lock:
            self._checked_at = time.monotonic()
            signature = self._read_signature()
            if signature != self._signature:
                self._pages = self._load()
                self._signature = signature
                self.generation += 1

    def get(self, lang: str, path: str) -> Page | None:
        """The page in exactly this language, or None."""
        self._maybe_reload()
        return self._pages.get((lang, path))

    def find(self, lang: str, path: str) -> Page | None:
        """The page in this language, else the English one (the caller shows a notice)."""
        return self.get(lang, path) or self.get(DEFAULT_LANGUAGE, path)

    def paths(self) -> list[str]:
        """Every page path that exists in at least one language."""
        self._maybe_reload()
        return sorted({path for _, path in self._pages})

    def all_pages(self) -> list[Page]:
        """Every page of every language."""
        self._maybe_reload()
        return list(self._pages.values())

    def section(self, lang: str, section: str) -> list[Page]:
        """The pages of a section (``news``, ``partnerships``) for a language, English filling gaps.

        News comes newest first; other sections by title.
        """
        paths = [
            p for p in self.paths() if p.startswith(section + "/") and not p.endswith("/index")
        ]
        pages = [page for page in (self.find(lang, p) for p in paths) if page]
        if section == "news":
            return sorted(pages, key=lambda page: (page.date, page.path), reverse=True)
        return sorted(pages, key=lambda page: page.title)

    def menu(self, lang: str, place: str) -> list[Page]:
        """The pages shown in a menu (``main`` or ``footer``), in their order."""
        pages = [self.find(lang, p) for p in self.paths()]
        chosen = [page for page in pages if page and page.meta.get("nav") == place]
        return sorted(chosen, key=lambda page: (page.meta["order"], page.path))

    def is_stale(self, page: Page) -> bool:
        """True for a translation that does not name the current version of its English page."""
        if page.lang == DEFAULT_LANGUAGE:
            return False
        english = self.get(DEFAULT_LANGUAGE, page.path)
        return english is not None and page.translates != english.version

    def stale_translations(self) -> list[Page]:
        """Translations older than their English page (or naming no version), by language."""
        pages = [page for page in self.all_pages() if self.is_stale(page)]
        return sorted(pages, key=lambda page: (page.lang, page.path))

    def broken_links(self) -> list[str]:
        """Site links in any page that lead nowhere, as ``file: link`` lines."""
        known = set(self.paths())
        problems = []
        for page in self.all_pages():
            for link in page.links:
                target = link.split("#")[0].split("?")[0].lstrip("/")
                if target in APP_LINK_TARGETS or target.rstrip("/") in known:
                    continue
                if target.endswith("/") and target + "index" in known:
                    continue
                problems.append(f"{page.source}: {link}")
        return problems
