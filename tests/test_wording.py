"""Interface wording the BHS and Ukrainian reviewer asked for stays fixed."""

import pytest
from conftest import outbox


@pytest.mark.parametrize("lang", ["en", "bs", "uk"])
def test_the_not_sure_confirmation_reads_as_one_sentence(app, apply, lang):
    apply(lang=lang, partnership="not_sure", language=lang)
    (confirmation,) = [m for m in outbox(app) if m["To"] == "olena@example.org"]
    body = confirmation.get_content()
    for line in body.splitlines():
        assert line.count(":") <= 1, line


@pytest.mark.parametrize(
    ("lang", "word"), [("en", "Underway"), ("bs", "U toku"), ("uk", "Створюється")]
)
def test_the_partnership_status_uses_the_pages_word(client, lang, word):
    page = client.get(f"/{lang}/partnerships/").get_data(as_text=True)
    assert word in page
    assert "Being set up" not in page and "U pripremi" not in page


@pytest.mark.parametrize(
    ("lang", "days", "words"),
    [("en", 10, "within 10 working days"), ("bs", 3, "od 3 radna dana"),
     ("uk", 1, "протягом 1 робочого дня")],
)  # fmt: skip
def test_the_reply_promise_in_mail_comes_from_the_setting(app_factory, lang, days, words):
    from conftest import csrf_token, valid_application

    app = app_factory(REPLY_WORKING_DAYS=days)
    client = app.test_client()
    url = f"/{lang}/apply"
    client.post(
        url, data={"csrf_token": csrf_token(client, url), **valid_application(language=lang)}
    )
    (confirmation,) = [m for m in outbox(app) if m["To"] == "olena@example.org"]
    assert words in confirmation.get_content()
