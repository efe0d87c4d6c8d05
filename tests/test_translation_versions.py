"""Translations that stay in step: each names the English version it follows."""

import pytest

from lepsite.content import ContentStore

EN_ABOUT = "---\ntitle: About\nsummary: About us.\n---\nThe partnership began in 2018.\n"


def uk_about(version: str = "") -> str:
    line = f"translates: {version}\n" if version else ""
    return f"---\ntitle: Про нас\nsummary: Про нас.\n{line}---\nПартнерство почалося 2018 року.\n"


@pytest.fixture
def site(write_content, small_site):
    write_content("en/about.md", EN_ABOUT)
    return write_content("uk/about.md", uk_about())


def test_a_translation_naming_no_version_is_stale_until_marked(app_factory, site):
    app = app_factory(CONTENT_DIR=str(site))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "status"])
    assert result.exit_code == 1 and "uk\tabout" in result.output

    result = runner.invoke(args=["content", "translated", "uk", "about"])
    assert result.exit_code == 0, result.output
    assert "translates: " in (site / "uk" / "about.md").read_text()
    assert runner.invoke(args=["content", "status"]).exit_code == 0


def test_changing_the_english_page_makes_the_translation_stale(app_factory, site, write_content):
    english = ContentStore(site).get("en", "about")
    write_content("uk/about.md", uk_about(english.version))
    app = app_factory(CONTENT_DIR=str(site))
    assert app.test_cli_runner().invoke(args=["content", "status"]).exit_code == 0
    assert "has changed" not in app.test_client().get("/uk/about").get_data(as_text=True)

    write_content("en/about.md", EN_ABOUT.replace("2018", "2019"))
    app = app_factory(CONTENT_DIR=str(site))
    result = app.test_cli_runner().invoke(args=["content", "status"])
    assert result.exit_code == 1 and "uk\tabout" in result.output
    page = app.test_client().get("/uk/about").get_data(as_text=True)
    assert 'href="/en/about" hreflang="en"' in page
    assert "Партнерство почалося" in page  # the translation is still shown, with the notice


def test_a_malformed_version_stops_start_up(app_factory, site, write_content):
    write_content("uk/about.md", uk_about("not-a-version"))
    with pytest.raises(Exception, match="translates"):
        ContentStore(site)


def test_no_committed_translation_is_stale(runner):
    result = runner.invoke(args=["content", "status"])
    assert result.exit_code == 0, result.output
