"""The same form sent twice stores one application, whatever the timing; a repeated withdrawal
or answer is recorded once."""

import re
import threading

import pytest
from conftest import csrf_token, outbox, valid_application
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from lepsite.extensions import db
from lepsite.membership import operations, queries
from lepsite.models import Application, ApplicationEvent

KEY_PATTERN = re.compile(
    r'name="submission_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_key"'
)
RECEIVED = "Your application has been received"


def submission_key(page: str) -> str:
    match = KEY_PATTERN.search(page)
    assert match, "no submission key on the form"
    return match.group(1) or match.group(2)


def form_data(client, lang="en", **overrides) -> dict:
    """What a browser sends after showing the form once: its CSRF token and its key."""
    page = client.get(f"/{lang}/apply").get_data(as_text=True)
    return {
        "csrf_token": csrf_token(client, f"/{lang}/apply"),
        "submission_key": submission_key(page),
        **valid_application(**overrides),
    }


def applications(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Application))


def events(app, action: str) -> int:
    with app.app_context():
        query = select(func.count()).where(ApplicationEvent.action == action)
        return db.session.scalar(query.select_from(ApplicationEvent))


def test_the_form_carries_a_fresh_key_each_time(client):
    first = submission_key(client.get("/en/apply").get_data(as_text=True))
    second = submission_key(client.get("/en/apply").get_data(as_text=True))
    assert first != second and len(first) == 43


def test_a_form_sent_twice_stores_one_application(app, client):
    data = form_data(client)
    first = client.post("/en/apply", data=data)
    second = client.post("/en/apply", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert applications(app) == 1
    assert len(outbox(app)) == 1  # the applicant's confirmation, once
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert RECEIVED in page


def test_a_re_shown_form_keeps_its_key(client):
    data = form_data(client, email="not-an-address")
    page = client.post("/en/apply", data=data).get_data(as_text=True)
    assert submission_key(page) == data["submission_key"]


def test_a_missing_or_mangled_key_still_stores_the_application(app, client):
    data = form_data(client)
    del data["submission_key"]
    assert client.post("/en/apply", data=data).status_code == 303
    data = form_data(client, organisation_name="Second")
    data["submission_key"] = "short'<>"
    assert client.post("/en/apply", data=data).status_code == 303
    assert applications(app) == 2


def test_the_same_key_with_another_address_is_another_application(app, client):
    data = form_data(client)
    client.post("/en/apply", data=data)
    data["email"] = "someone.else@example.org"
    client.post("/en/apply", data=data)
    assert applications(app) == 2


def test_a_failed_attempt_can_be_sent_again(app, client, monkeypatch):
    data = form_data(client, lang="uk")
    real = operations.submit_application

    def database_down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(operations, "submit_application", database_down)
    response = client.post("/uk/apply", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert submission_key(page) == data["submission_key"]
    assert "Kyiv Training Centre" in page  # the answers are still there
    monkeypatch.setattr(operations, "submit_application", real)
    assert client.post("/uk/apply", data=data).status_code == 303
    assert applications(app) == 1


def test_a_repeat_after_a_lost_answer_shows_the_stored_application(app, client, monkeypatch):
    """The first attempt was stored, but its answer failed: the page and the repeat say so."""
    data = form_data(client)

    def lost(ids):
        raise OSError("connection reset")

    monkeypatch.setattr("lepsite.membership.views.send_now", lost)
    page = client.post("/en/apply", data=data).get_data(as_text=True)
    assert RECEIVED in page and "/en/apply/status/" in page
    monkeypatch.undo()
    again = client.post("/en/apply", data=data)
    assert again.status_code == 303 and applications(app) == 1
    assert RECEIVED in client.get(again.headers["Location"]).get_data(as_text=True)


def run_together(count: int, work) -> list:
    """Run ``work(number)`` in ``count`` threads at once; return the results in order."""
    results: list = [None] * count
    failures: list = []

    def run(number: int) -> None:
        try:
            results[number] = work(number)
        except Exception as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    return results


def meet_before(monkeypatch, module, name: str, parties: int = 2) -> threading.Barrier:
    """Make each thread's first call of ``module.name`` wait until every thread has made it."""
    barrier = threading.Barrier(parties, timeout=10)
    seen = threading.local()
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()
        return result

    monkeypatch.setattr(module, name, wrapped)
    return barrier


def test_two_sends_at_once_store_one_application(app, monkeypatch):
    """Both look for the key and find nothing before either stores: the database decides."""
    clients = [app.test_client(), app.test_client()]
    key = form_data(clients[0])["submission_key"]
    data = [{**form_data(client), "submission_key": key} for client in clients]
    meet_before(monkeypatch, operations, "_submitted_with")
    responses = run_together(2, lambda n: clients[n].post("/en/apply", data=data[n]))
    assert [response.status_code for response in responses] == [303, 303]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert applications(app) == 1
    assert events(app, "submitted") == 1


@pytest.fixture
def status_url(app, client, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    response = client.post("/en/apply", data=form_data(client))
    return response.headers["Location"]


def test_a_repeated_withdrawal_is_recorded_once(app, client, status_url):
    data = {"csrf_token": csrf_token(client, status_url), "confirm": "y"}
    assert client.post(status_url + "/withdraw", data=data).status_code == 303
    assert client.post(status_url + "/withdraw", data=data).status_code == 303
    assert events(app, "withdrawn") == 1


def ask_a_question(app) -> None:
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        application.state = "info_requested"
        db.session.commit()


def test_a_repeated_answer_is_recorded_once(app, client, status_url):
    ask_a_question(app)
    data = {"csrf_token": csrf_token(client, status_url), "answer": "Here it is."}
    assert client.post(status_url + "/answer", data=data).status_code == 303
    assert client.post(status_url + "/answer", data=data).status_code == 303
    assert events(app, "info_provided") == 1


@pytest.mark.parametrize(
    ("action", "fields", "recorded", "function"),
    [
        ("withdraw", {"confirm": "y"}, "withdrawn", "withdraw_application"),
        ("answer", {"answer": "Here it is."}, "info_provided", "answer_question"),
    ],
)
def test_two_at_once_are_recorded_once(app, status_url, monkeypatch, action, fields, recorded,
                                       function):  # fmt: skip
    if action == "answer":
        ask_a_question(app)
    clients = [app.test_client(), app.test_client()]
    data = [{"csrf_token": csrf_token(client, status_url), **fields} for client in clients]
    # Both read the open state before either changes it.
    meet_before(monkeypatch, queries, "get_application_by_token_or_404")
    responses = run_together(2, lambda n: clients[n].post(f"{status_url}/{action}", data=data[n]))
    assert {response.status_code for response in responses} == {303}
    assert events(app, recorded) == 1
