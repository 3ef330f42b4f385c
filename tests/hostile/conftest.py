"""Fixtures shared by the hostile-input tests."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app.models import Role
from tests.helpers.databases import IsolatedClient
from tests.helpers.hostile import login


@pytest.fixture
def clients(app: Flask) -> dict[str, FlaskClient]:
    """An anonymous visitor, a province-wide administrator and a leader of one ward."""
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    app.test_client_class = IsolatedClient  # each request in its own app context
    return {
        "anonymous": app.test_client(),
        "admin": login(app, "hostile_admin", Role.ADMIN, None),
        "leader": login(app, "hostile_leader", Role.LEADER, "HM-MH"),
    }
