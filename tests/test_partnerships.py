"""lepsite.partnerships: the one home of which partnerships exist, from the content."""

from lepsite import partnerships
from lepsite.accounts.passwords import new_user
from lepsite.extensions import db


def test_the_partnerships_are_the_english_partnership_pages(app):
    with app.app_context():
        found = {item.key: item for item in partnerships.all_partnerships()}
        assert set(found) == {
            "bih-lep1",
            "bih-lep2",
            "kherson",
            "kyiv",
            "lviv",
            "mykolaiv",
            "odesa",
            "rivne",
            "zakarpattia",
        }
        assert found["kyiv"].country == "UA"
        assert found["bih-lep1"].country == "BA"
        assert partnerships.country_of("kyiv") == "UA"
        assert partnerships.country_of("not_sure") is None
        assert partnerships.get("nowhere") is None


def test_names_follow_the_language_and_open_only_leaves_out_closed_ones(app):
    with app.app_context():
        kyiv = partnerships.get("kyiv")
        assert kyiv.name("en") == "Kyiv Local Employment Partnership"
        assert kyiv.name("uk") != kyiv.name("en")
        every = dict(partnerships.choices("bs"))
        open_ones = dict(partnerships.choices("bs", open_only=True))
        assert set(open_ones) <= set(every)
        closed = {item.key for item in partnerships.all_partnerships()} - {
            item.key for item in partnerships.all_partnerships() if item.accepts_applications
        }
        assert closed and not closed & set(open_ones)
        assert list(every.values()) == sorted(every.values())


def test_unknown_keys_and_coordinators(app):
    with app.app_context():
        assert partnerships.unknown_keys(["kyiv", "atlantis", "odesa", "mu"]) == ["atlantis", "mu"]
        kept = new_user("c1@example.org", "Olena", "coordinator", "secret one two three", ["kyiv"])
        gone = new_user("c2@example.org", "Petro", "coordinator", "secret one two three", ["kyiv"])
        gone.active = False
        new_user("a@example.org", "Ana", "admin", "secret one two three", ["kyiv"])
        db.session.commit()
        assert [user.id for user in partnerships.coordinators_of("kyiv")] == [kept.id]
        assert partnerships.coordinators_of("odesa") == []
