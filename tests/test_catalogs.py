"""The translation catalogs: complete, current, and with the right plural forms."""

import datetime as dt
import gettext as gettext_module
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, format_date, gettext, ngettext

from lepsite.paths import site_dir
from lepsite.translate import TRANSLATED_LANGUAGES, extract_template

TRANSLATIONS = site_dir("translations")


def load_catalog(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set:
    pot = Path(tmp_path_factory.mktemp("pot")) / "messages.pot"
    extract_template(pot)
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


@pytest.mark.parametrize("code", TRANSLATED_LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(code):
    problems = []
    for message in load_catalog(code):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("code", TRANSLATED_LANGUAGES)
def test_catalog_matches_the_code(code, extracted):
    in_catalog = {message.id for message in load_catalog(code) if message.id}
    missing = extracted - in_catalog
    stale = in_catalog - extracted
    assert not missing, f"run 'flask translate update': missing {sorted(map(str, missing))}"
    assert not stale, f"run 'flask translate update': no longer used {sorted(stale)}"


@pytest.mark.parametrize("code", TRANSLATED_LANGUAGES)
def test_plural_forms_are_the_slavic_three(code):
    catalog = load_catalog(code)
    assert catalog.num_plurals == 3
    plural = gettext_module.c2py(catalog.plural_expr)
    # one: 1, 21; few: 2, 22; many: 5, 11, 12, 111
    assert [plural(n) for n in (1, 21, 2, 22, 5, 11, 12, 111)] == [0, 0, 1, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("code", TRANSLATED_LANGUAGES)
def test_plural_messages_pick_the_right_form_at_runtime(app, code):
    singular = "Use at most %(num)d character."
    plural = "Use at most %(num)d characters."
    catalog = load_catalog(code)
    forms = catalog[singular].string
    with app.test_request_context(), force_locale(code):
        for n, form in ((1, 0), (21, 0), (2, 1), (5, 2), (11, 2)):
            assert ngettext(singular, plural, n) == forms[form] % {"num": n}
        assert len(set(forms)) == 3 if code == "uk" else len(set(forms)) >= 2


def test_a_known_string_comes_out_in_ukrainian(app):
    with app.test_request_context(), force_locale("uk"):
        assert gettext("Page not found") == load_catalog("uk")["Page not found"].string
        assert gettext("Page not found") != "Page not found"
        # CLDR puts a narrow no-break space before "р."
        date = format_date(dt.date(2026, 11, 22), "long").replace("\u202f", " ")
        assert date == "22 листопада 2026 р."


def test_compiled_catalogs_follow_the_po_files(app):
    compiled = Path(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    for code in TRANSLATED_LANGUAGES:
        assert (compiled / code / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
