"""An upload beyond MAX_CONTENT_LENGTH returns to its form with the limit in words,
instead of a bare 413 page (the API's JSON 413: tests/web/test_api.py)."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from survey_app.admin import accounts
from survey_app.models import Role
from tests.helpers.demo_paths import client_for


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body in memory (the test client would spool a large one to a
    temporary file that it never closes when the app refuses the body unread)."""
    stream, _length, boundary = stream_encode_multipart(
        {name: FileStorage(io.BytesIO(content), "big.csv")}, use_tempfile=False
    )
    return stream.getvalue(), f"multipart/form-data; boundary={boundary}"


FORMS = [
    ("/analyst/data/import", "/analyst/data/", "file", Role.ANALYST),
    ("/admin/units/import", "/admin/units/", "file", Role.ADMIN),
]


@pytest.mark.parametrize(("action", "page", "name", "role"), FORMS)
def test_an_oversized_file_returns_to_the_form_with_the_limit(
    app: Flask, client: FlaskClient, action: str, page: str, name: str, role: Role
) -> None:
    user = accounts.create_user("uploader", "uploader-password-1", role)
    browser = client_for(app, user)
    body, content_type = multipart(name, b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    response = browser.post(
        action, data=body, content_type=content_type, headers={"Referer": f"http://localhost{page}"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(page)
    shown = browser.get(page).get_data(as_text=True)
    assert "Tệp quá lớn: mỗi lần tải lên tối đa 2 MB." in shown
    assert "2 MB" in shown  # the form itself states the limit
    english = client_for(app, user)
    english.get(page + "?lang=en")
    english.post(action, data=body, content_type=content_type)
    assert "The file is too large: uploads are limited to 2 MB." in english.get(page).get_data(
        as_text=True
    )
