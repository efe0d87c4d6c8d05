"""``flask content …``: keep the BHS and Ukrainian pages in step with the English ones.

Each translation names, in ``translates:``, the version of the English page it follows (a
fingerprint of its title, summary and text). When the English page changes, the translation
is *stale*: ``content status`` lists it (exit 1), and the page shows its reader a notice with
a link to the English page until a translator updates it and runs ``content translated``.
"""

import re

import click
from flask import current_app
from flask.cli import AppGroup

from .content import ContentStore
from .i18n import DEFAULT_LANGUAGE, LANGUAGES

content_cli = AppGroup("content", help="Content pages and their translations.")

_TRANSLATES_LINE = re.compile(r"^translates:.*\n", re.MULTILINE)


def _store() -> ContentStore:
    # A fresh read of the files, not the copy the app has held since it started.
    return ContentStore(current_app.extensions["lepsite.content"].root)


@content_cli.command("status")
def status() -> None:
    """List translations older than their English page; exit 1 when any is."""
    stale = _store().stale_translations()
    for page in stale:
        click.echo(f"stale\t{page.lang}\t{page.path}\t{page.source}")
    click.echo(f"{len(stale)} stale translation(s)")
    if stale:
        raise SystemExit(1)


@content_cli.command("translated")
@click.argument("lang", type=click.Choice([code for code in LANGUAGES if code != "en"]))
@click.argument("paths", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every page of the language.")
def translated(lang: str, paths: tuple[str, ...], every: bool) -> None:
    """Record that LANG's PATHS (e.g. about, news/kyiv-lep-launch) follow the English pages
    as they are now. Run it after updating a translation."""
    store = _store()
    if every:
        paths = tuple(page.path for page in store.all_pages() if page.lang == lang)
    if not paths:
        raise click.UsageError("name the pages (their paths, as in the URL) or give --all")
    for path in paths:
        page, english = store.get(lang, path), store.get(DEFAULT_LANGUAGE, path)
        if page is None or english is None:
            raise click.UsageError(f"no page {path!r} in both {lang} and {DEFAULT_LANGUAGE}")
        _write_version(page.source, english.version)
        click.echo(f"{lang}/{path} follows en/{path} version {english.version}")


def _write_version(source, version: str) -> None:
    """Set ``translates:`` in the file's front matter, keeping everything else as it is."""
    text = source.read_text(encoding="utf-8")
    head, separator, rest = text.partition("\n---")
    head = _TRANSLATES_LINE.sub("", head + "\n").rstrip("\n")
    source.write_text(f"{head}\ntranslates: {version}{separator}{rest}", encoding="utf-8")
