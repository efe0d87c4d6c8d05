"""Guessable passwords are refused, with a reason, in the web form and on the command line."""

import pytest
from conftest import PASSWORD, csrf_token, sign_in

from lepsite.accounts.strength import password_problem

WEAK = ["password1234", "aaaaaaaaaaaa", "123456789012", "qwertyuiopasdf", "kyivkyivkyiv"]


@pytest.mark.parametrize("password", WEAK)
def test_common_and_patterned_passwords_are_weak(app, password):
    with app.test_request_context():
        assert password_problem(password, ("kyiv@example.org", "Kyiv Coordinator"))


def test_a_password_built_on_ones_own_name_is_weak(app):
    with app.test_request_context():
        problem = password_problem("olenakovalenko2", ("olena.kovalenko@example.org", "Olena"))
    assert "your name" in problem


@pytest.mark.parametrize("password", [PASSWORD, "violet tractor under a quiet bridge"])
def test_a_few_unrelated_words_pass(app, password):
    with app.test_request_context():
        assert password_problem(password) is None


def change(client, new_password: str):
    return client.post(
        "/admin/password",
        data={
            "csrf_token": csrf_token(client, "/admin/password"),
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm": new_password,
        },
    )


@pytest.mark.parametrize("password", WEAK[:3])
def test_the_password_form_refuses_them_and_says_why(client, make_user, password):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    sign_in(client, "kyiv@example.org")
    response = change(client, password)
    assert response.status_code == 400
    assert "too easy to guess" in response.get_data(as_text=True)
    assert sign_in(client.application.test_client(), "kyiv@example.org").status_code == 303


@pytest.mark.parametrize(("language", "words"), [("uk", "легко вгадати"), ("bs", "lako pogoditi")])
def test_the_reason_is_in_the_users_language(client, make_user, language, words):
    make_user("odesa@example.org", partnerships=["odesa"], language=language)
    sign_in(client, "odesa@example.org")
    assert words in change(client, "password1234").get_data(as_text=True)


@pytest.mark.parametrize("password", WEAK[:3])
def test_the_cli_refuses_them(runner, password):
    result = runner.invoke(
        args=["users", "create", "--email", "x@example.org", "--name", "X", "--role", "admin",
              "--password-stdin"],
        input=password + "\n",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "too easy to guess" in result.output


def test_the_cli_takes_a_good_one(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "x@example.org", "--name", "X", "--role", "admin",
              "--password-stdin"],
        input="violet tractor under a quiet bridge\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
