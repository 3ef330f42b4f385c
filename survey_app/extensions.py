"""Every Flask extension is created here, unbound, and bound in ``create_app``."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic (batch mode on SQLite) can alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

LANGUAGES = ("vi", "en")

#: The engine bind of the single-statement submission path on PostgreSQL (bound in
#: ``create_app``; here so that services and storages need not import the factory).
SUBMISSIONS_BIND = "submissions"


def select_locale() -> str:
    """Vietnamese first: an explicit ``?lang=``, then the session, then ``vi``.

    Outside a request (command line, background work) the default ``vi`` applies
    unless the caller chose a language with ``force_locale``.
    """
    if not has_request_context():
        return "vi"
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        return requested
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return "vi"
