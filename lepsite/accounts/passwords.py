"""Password hashing with Werkzeug's scrypt, the strongest it offers."""

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import CoordinatorPartnership, User

# Checked against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def set_password(user: User, password: str) -> None:
    """Store a salted scrypt hash, never the password."""
    user.password_hash = generate_password_hash(password, method="scrypt")


def check_password(user: User | None, password: str) -> bool:
    """True only for an active user with this password; as slow for unknown users."""
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password) and user.active


def new_user(
    email: str,
    name: str,
    role: str,
    password: str,
    partnerships: tuple[str, ...] | list[str] = (),
    language: str = "en",
) -> User:
    """A new account with a hashed password and its partnerships, added to the session."""
    user = User(email=email, name=name, role=role, language=language)
    set_password(user, password)
    user.partnerships = [CoordinatorPartnership(partnership_key=key) for key in partnerships]
    db.session.add(user)
    return user
