"""Extension objects, created unbound and bound to the app in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for the typed models."""


babel = Babel()
csrf = CSRFProtect()
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# Limits are set per view; RATELIMIT_* settings choose storage and switch it off in tests.
limiter = Limiter(key_func=get_remote_address)
