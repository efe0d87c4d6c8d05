"""Every page type is valid HTML, by the Nu Html Checker (npm ``vnu-jar``, run with Java).

The pages are collected with the test client and checked in one Java run, which keeps the
check to a few seconds.
"""

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import csrf_token, require, sign_in
from sqlalchemy import select

from lepsite.accounts import invitations, tokens
from lepsite.extensions import db
from lepsite.models import Application, User

ROOT = Path(__file__).resolve().parents[1]
VNU_JAR = Path(
    os.environ.get("LEPSITE_VNU_JAR") or ROOT / ".tools/node_modules/vnu-jar/build/dist/vnu.jar"
)
LANGUAGES = ("en", "bs", "uk")
PUBLIC_PAGES = (
    "/",
    "/about",
    "/news/",
    "/news/kyiv-lep-launch",
    "/partnerships/",
    "/partnerships/kyiv",
    "/apply",
    "/apply/status",
)
ADMIN_PAGES = (
    "/admin/",
    "/admin/applications/",
    "/admin/users/",
    "/admin/users/new",
    "/admin/password",
    "/admin/audit",
    "/admin/security",
    "/admin/mail/failed",
)


def vnu_errors(folder: Path) -> list[str]:
    """The checker's errors for every ``.html`` file in ``folder``, as ``file:line: message``."""
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--skip-non-html"]
        + sorted(str(path) for path in folder.glob("*.html")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    return [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m['message']}"
        for m in messages
        if m["type"] in ("error", "non-document-error")
    ]


@pytest.fixture
def collected(app, make_user, apply, tmp_path):
    """Return a function that saves a response's HTML under a readable name."""
    folder = tmp_path / "pages"
    folder.mkdir()

    def save(name: str, response) -> None:
        assert response.mimetype == "text/html", name
        safe = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "root"
        (folder / f"{safe}.html").write_bytes(response.data)

    save.folder = folder
    return save


def collect_account_link_pages(app, client, make_user, collected, lang: str) -> None:
    """Reset and invitation pages in ``lang``: forms, errors, the answer and dead links."""
    header = {"Accept-Language": lang}
    user_id = make_user(f"reset-{lang}@example.org", partnerships=["kyiv"], language=lang)
    with app.app_context():
        reset_token = tokens.issue(db.session.get(User, user_id), "reset", timedelta(hours=1))
        invited, _ids = invitations.invite(
            f"invited-{lang}@example.org", f"Invited {lang}", "admin", set(), lang
        )
        invite_token = tokens.issue(invited, "invite", timedelta(hours=1))
        db.session.commit()
    for kind, token in (("reset", reset_token), ("invite", invite_token)):
        path = f"/admin/{kind}/{token}"
        collected(f"{lang}-{kind}-form", client.get(path))
        weak = {"csrf_token": csrf_token(client, path), "new_password": "short"}
        collected(f"{lang}-{kind}-errors", client.post(path, data=weak))
        collected(f"{lang}-{kind}-unknown", client.get(f"/admin/{kind}/{'A' * 43}", headers=header))
    collected(f"{lang}-reset-ask", client.get("/admin/reset", headers=header))
    ask = {"csrf_token": csrf_token(client, "/admin/reset"), "email": "x"}
    collected(f"{lang}-reset-ask-errors", client.post("/admin/reset", data=ask, headers=header))
    ask["email"] = f"reset-{lang}@example.org"
    collected(f"{lang}-reset-sent", client.post("/admin/reset", data=ask, headers=header))
    collected(f"{lang}-reset-replaced", client.get(f"/admin/reset/{reset_token}"))


def test_every_page_type_is_valid_html(app, client, make_user, apply, collected):
    require(shutil.which("java") is not None, "Java is not installed (Debian: default-jre)")
    require(
        VNU_JAR.is_file(), f"vnu.jar not found at {VNU_JAR} (npm install --prefix .tools vnu-jar)"
    )

    for lang in LANGUAGES:
        for path in PUBLIC_PAGES:
            collected(f"{lang}{path}", client.get(f"/{lang}{path}"))
        collected(f"{lang}-404", client.get(f"/{lang}/no-such-page"))
        collected(
            f"{lang}-apply-errors",
            client.post(
                f"/{lang}/apply", data={"csrf_token": csrf_token(client, f"/{lang}/apply")}
            ),
        )
        status = apply(lang=lang, organisation_name=f"Valid {lang}", follow_redirects=True)
        collected(f"{lang}-status", status)
        collected(f"{lang}-correct", client.get(status.request.path + "/correct"))
        collected(
            f"{lang}-correct-errors",
            client.post(
                status.request.path + "/correct",
                data={"csrf_token": csrf_token(client, f"/{lang}/apply/status")},
            ),
        )
        collected(
            f"{lang}-status-links-errors",
            client.post(
                f"/{lang}/apply/status",
                data={"csrf_token": csrf_token(client, f"/{lang}/apply/status"), "email": "x"},
            ),
        )
        collected(f"{lang}-status-unknown", client.get(f"/{lang}/apply/status/{'A' * 43}"))
    collected("csrf-400", client.post("/en/apply", data={}))
    collected("language-free-404", client.get("/no/such/page"))
    collected("uk-405", client.post("/uk/about"))
    collected("login", client.get("/admin/login"))
    collected(
        "login-failed",
        client.post(
            "/admin/login",
            data={
                "csrf_token": csrf_token(client, "/admin/login"),
                "email": "x@example.org",
                "password": "x",
            },
        ),
    )

    for lang in LANGUAGES:  # the pages behind mailed links (issue 14), for a visitor
        collect_account_link_pages(app, client, make_user, collected, lang)

    with app.app_context():
        first = db.session.scalar(select(Application.id).order_by(Application.id))
    for lang in LANGUAGES:
        email = f"admin-{lang}@example.org"
        make_user(email, role="admin", language=lang)
        assert sign_in(client, email).status_code == 303
        for path in ADMIN_PAGES:
            collected(f"{lang}{path}", client.get(path))
        collected(f"{lang}-application", client.get(f"/admin/applications/{first}"))
        refused = client.post(
            f"/admin/applications/{first}/reject",
            data={"csrf_token": csrf_token(client, f"/admin/applications/{first}"), "note": ""},
        )
        collected(f"{lang}-application-errors", refused)
        users = client.get("/admin/users/").get_data(as_text=True)
        user_url = re.search(r'href="(/admin/users/\d+)"', users).group(1)
        collected(f"{lang}-user", client.get(user_url))
        refused = client.post(
            "/admin/users/new", data={"csrf_token": csrf_token(client, "/admin/users/new")}
        )
        collected(f"{lang}-user-new-errors", refused)
        pending_url = re.search(r'href="(/admin/users/\d+)">Invited', users).group(1)
        collected(f"{lang}-user-pending", client.get(pending_url))
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})

    assert len(list(collected.folder.glob("*.html"))) > 50
    errors = vnu_errors(collected.folder)
    assert not errors, "\n".join(errors)


def test_the_two_factor_pages_are_valid_html(app, client, make_user, collected):
    """Set-up (with its QR code and errors), recovery codes, the code step (issue 14)."""
    require(shutil.which("java") is not None, "Java is not installed (Debian: default-jre)")
    require(VNU_JAR.is_file(), f"vnu.jar not found at {VNU_JAR}")
    import pyotp
    from conftest import enter_code

    from lepsite.accounts.two_factor import TwoFactor

    for lang in LANGUAGES:
        email = f"new-{lang}@example.org"
        user_id = make_user(email, role="admin", language=lang, two_factor=False)
        sign_in(client, email)
        collected(f"{lang}-two-factor-set-up", client.get("/admin/security"))
        token = csrf_token(client, "/admin/security")
        url = "/admin/security/two-factor"
        collected(f"{lang}-two-factor-set-up-errors", client.post(url, data={"csrf_token": token}))
        with app.app_context():
            code = pyotp.TOTP(db.session.get(TwoFactor, user_id).secret).now()
        collected(
            f"{lang}-recovery-codes", client.post(url, data={"csrf_token": token, "code": code})
        )
        collected(f"{lang}-two-factor-on", client.get("/admin/security"))
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
        data = {"csrf_token": csrf_token(client, "/admin/login"), "email": email}
        client.post("/admin/login", data={**data, "password": "correct horse battery staple"})
        collected(f"{lang}-login-code", client.get("/admin/login/code"))
        token = csrf_token(client, "/admin/login/code")
        refused = client.post("/admin/login/code", data={"csrf_token": token, "code": "x"})
        collected(f"{lang}-login-code-errors", refused)
        assert enter_code(client, email).status_code == 303
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})

    assert len(list(collected.folder.glob("*.html"))) == 18
    errors = vnu_errors(collected.folder)
    assert not errors, "\n".join(errors)
