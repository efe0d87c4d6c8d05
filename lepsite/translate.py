"""``flask translate``: keep the catalogs in step with the code, through Babel's own API."""

import contextlib
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask import Blueprint, current_app

from .i18n import LANGUAGES
from .paths import PACKAGE_DIR

bp = Blueprint("translate", __name__, cli_group="translate")

PROJECT_ROOT = PACKAGE_DIR.parent
TRANSLATED_LANGUAGES = [code for code in LANGUAGES if code != "en"]


def _pybabel(*args: str) -> None:
    """Run a pybabel command with an argument list (no shell)."""
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract_template(pot_path: Path) -> None:
    """Extract every marked string of the package into a ``.pot`` file."""
    # Run from the project root so the catalogs name files relative to it.
    with contextlib.chdir(PROJECT_ROOT):
        _extract(pot_path)


def _extract(pot_path: Path) -> None:
    _pybabel(
        "extract",
        "-F", str(PROJECT_ROOT / "babel.cfg"),
        "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2",
        "-k", "gettext_noop", "-k", "ngettext_noop:1,2",
        "--add-comments", "i18n:",
        "--sort-by-file",
        "--project", "lepsite",
        "-o", str(pot_path),
        "lepsite",
    )  # fmt: skip


@bp.cli.command("update")
def update():
    """Extract strings and merge them into the bs and uk catalogs."""
    source = Path(current_app.config["TRANSLATIONS_SOURCE_DIR"])
    pot = source / "messages.pot"
    extract_template(pot)
    for code in TRANSLATED_LANGUAGES:
        po = source / code / "LC_MESSAGES" / "messages.po"
        if po.exists():
            _pybabel("update", "-i", str(pot), "-d", str(source), "-l", code, "--no-fuzzy-matching")
        else:
            _pybabel("init", "-i", str(pot), "-d", str(source), "-l", code)
    pot.unlink()
    click.echo("Catalogs updated; translate the empty entries in translations/*/LC_MESSAGES.")
