"""``flask demo``: sample data, only where it cannot reach production."""

from sqlalchemy import func, select

from lepsite.extensions import db
from lepsite.models import Application, ApplicationEvent, ApplicationRecipient, User


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_bulk_adds_routed_applications(app, apply, make_user):
    kyiv = make_user("kyiv@example.org", partnerships=["kyiv"])
    make_user("admin@example.org", role="admin")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["demo", "seed-bulk", "--applications", "300", "--chunk-size", "70"]
    )
    assert result.exit_code == 0, result.output
    assert count(app, Application) == 300
    kyiv_ids = select(Application.id).where(Application.partnership_key == "kyiv")
    routed_to_kyiv = select(ApplicationRecipient.application_id).where(
        ApplicationRecipient.user_id == kyiv
    )
    assert count(app, Application, Application.partnership_key == "kyiv") > 0
    assert count(app, Application, Application.id.in_(kyiv_ids.except_(routed_to_kyiv))) == 0
    # Every application reaches someone: its coordinators, or the admins as a fallback.
    assert count(app, Application, ~Application.recipients.any()) == 0
    assert count(app, ApplicationEvent) >= 600
    with app.app_context():
        states = set(db.session.scalars(select(Application.state).distinct()))
        references = db.session.scalars(select(Application.reference)).all()
    assert {"submitted", "approved"} <= states
    assert len(set(references)) == 300

    # A second run adds to the first, and an application made afterwards still gets an id.
    again = runner.invoke(
        args=["demo", "seed-bulk", "--applications", "10", "--partnership", "odesa"]
    )
    assert again.exit_code == 0, again.output
    assert count(app, Application, Application.partnership_key == "odesa") >= 10
    assert apply(partnership="kyiv").status_code == 303
    assert count(app, Application) == 311


def test_seed_bulk_refuses_outside_debug_and_unknown_partnerships(app_factory):
    production = app_factory(TESTING=False)
    result = production.test_cli_runner().invoke(args=["demo", "seed-bulk"])
    assert result.exit_code != 0 and "development only" in result.output
    assert count(production, Application) == 0

    app = app_factory()
    result = app.test_cli_runner().invoke(args=["demo", "seed-bulk", "--partnership", "atlantis"])
    assert result.exit_code != 0 and "unknown partnership" in result.output
    assert count(app, User) == 0
