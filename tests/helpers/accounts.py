"""A user made and logged in through the login form, for the web tests."""

from __future__ import annotations

from flask.testing import FlaskClient

from survey_app.admin import accounts
from survey_app.models import Role

PASSWORD = "a-long-test-password"


def login(
    client: FlaskClient,
    username: str,
    role: Role,
    unit: str | None = None,
    password: str = PASSWORD,
) -> FlaskClient:
    """Create ``username`` with ``role`` (scoped to ``unit``, if given) and log ``client``
    in as them; the login form answers with a redirect. Returns the client."""
    accounts.create_user(username, password, role, unit)
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 302
    return client
