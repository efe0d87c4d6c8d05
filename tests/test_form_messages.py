"""WTForms' own messages come out in the page's language, from the site's catalogs."""

import pytest
from conftest import csrf_token, valid_application

from lepsite.translate import TRANSLATED_LANGUAGES


def catalog_entry(code: str, msgid: str) -> str:
    from babel.messages.pofile import read_po

    from lepsite.paths import site_dir

    path = site_dir("translations") / code / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=code)[msgid].string


@pytest.mark.parametrize("code", ["en", *TRANSLATED_LANGUAGES])
def test_not_a_valid_choice_is_in_the_pages_language(client, code):
    url = f"/{code}/apply"
    data = {"csrf_token": csrf_token(client, url), **valid_application(organisation_type="zzz")}
    page = client.post(url, data=data).get_data(as_text=True)
    expected = "Not a valid choice." if code == "en" else catalog_entry(code, "Not a valid choice.")
    assert expected in page
    if code != "en":
        assert "Not a valid choice." not in page
