"""Fixtures shared by several web test modules."""

from __future__ import annotations

import pytest
from flask import Flask

from survey_app.models import Wave
from tests.helpers.paper_import import make_province


@pytest.fixture
def province(app: Flask) -> Wave:
    """The paper-import province: district X, communes X-A and X-B, wave W-1 (SIPAS)."""
    return make_province(app)
