"""The dossier hash key: its own setting, fingerprinted in the data, checked before storing.

A machine whose key is not the one the data was recorded with (a restore without the
key file, servers set up with different keys) must refuse submissions with a 503 that
says why, instead of accepting used dossiers again; the reading pages stay up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_app import create_app
from survey_app.collection import dossier_key, questionnaires
from survey_app.collection.responses import ResponseDraft, store
from survey_app.extensions import db
from survey_app.models import AppSetting, Channel, Desk, Response
from tests.helpers import kiosk_api
from tests.helpers.databases import IsolatedClient, base_config, dispose_engines
from tests.helpers.desks import commune_desk

API = "/api/v1/responses"
SUBMITTED = "2025-03-01T09:30:00+07:00"


@pytest.fixture
def token(app: Flask) -> str:
    return commune_desk(
        app, "DK", "DK-1", unit_vi="Xã Đông Kinh", unit_en="Dong Kinh commune",
        desk_name="Quầy một cửa",
    )  # fmt: skip


def body(**changes: Any) -> dict[str, Any]:
    """A kiosk submission for desk DK-1 (mood 4), with ``changes`` applied."""
    return kiosk_api.body(
        **({"desk": "DK-1", "answers": {"mood": 4}, "started_at": None} | changes)
    )


def post(client: FlaskClient, payload: dict[str, Any], token: str, lang: str = "vi") -> Any:
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": lang}
    return client.post(API, json=payload, headers=headers)


def count_responses() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(Response)) or 0)


def stored_fingerprint() -> str | None:
    db.session.rollback()
    return db.session.scalar(select(AppSetting.value).where(AppSetting.key == dossier_key.SETTING))


@contextmanager
def other_machine(
    app: Flask, folder: Path, monkeypatch: pytest.MonkeyPatch, **config: Any
) -> Iterator[FlaskClient]:
    """The same database served by another machine: its own instance folder and secret."""
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(folder))
    settings = base_config(app.config["SQLALCHEMY_DATABASE_URI"], folder)
    other = create_app({**settings, "SECRET_KEY": "another-machine-secret", **config})
    other.test_client_class = IsolatedClient
    with other.app_context():
        try:
            yield other.test_client()
        finally:
            db.session.remove()
            dispose_engines()


def test_first_submission_records_a_fingerprint_not_the_key(
    app: Flask, client: FlaskClient, token: str
) -> None:
    assert stored_fingerprint() is None
    assert post(client, body(dossier="HS-2025-000001"), token).status_code == 201
    path = Path(app.instance_path) / "dossier_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text(encoding="ascii").strip()
    assert len(key) == 64  # 32 random bytes, hex
    label = b"survey-platform/dossier-key-fingerprint/v1"
    assert stored_fingerprint() == hmac.new(key.encode(), label, hashlib.sha256).hexdigest()
    settings = " ".join(db.session.scalars(select(AppSetting.value)))
    assert key not in settings
    # The key is not derived from SECRET_KEY: rotating that changes nothing.
    app.config["SECRET_KEY"] = "rotated"
    assert post(client, body(dossier="HS-2025-000001"), token).status_code == 409
    assert post(client, body(dossier="HS-2025-000002"), token).status_code == 201


def test_another_key_refuses_submissions_with_503(
    app: Flask,
    client: FlaskClient,
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = body(dossier="HS-2025-000001")
    assert post(client, first, token).status_code == 201
    with (
        caplog.at_level(logging.ERROR, logger="survey_app.collection.dossier_key"),
        other_machine(app, tmp_path / "other", monkeypatch, DOSSIER_HASH_KEY="wrong") as other,
    ):
        refused = post(other, body(dossier="HS-2025-000001"), token)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"]
        data = refused.get_json()
        assert data["error"] == "dossier_key_mismatch"
        assert "khóa hồ sơ" in data["message"] and data["reason"] in data["message"]
        english = post(other, body(lang="en"), token, lang="en").get_json()
        assert "dossier key" in english["reason"] and "Nothing was stored" in english["message"]
        assert post(other, first, token).status_code == 503  # even a retry: nothing decided
        assert other.get("/healthz").status_code == 200  # reading pages stay up
        assert other.get("/").status_code == 200
    assert count_responses() == 1
    assert "does not match the fingerprint" in caplog.text
    assert "wrong" not in caplog.text


def test_a_machine_without_the_key_refuses_until_the_key_file_is_restored(
    app: Flask, client: FlaskClient, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used = body(dossier="HS-2025-000001", channel="phone")
    assert post(client, used, token).status_code == 201
    folder = tmp_path / "rebuilt"
    with other_machine(app, folder, monkeypatch) as rebuilt:
        refused = post(rebuilt, body(dossier="HS-2025-000001"), token)
        assert refused.status_code == 503
        assert refused.get_json()["error"] == "dossier_key_missing"
        assert not (folder / "dossier_key").exists()  # no new key generated over the data's
        assert count_responses() == 1
        # The administrator restores the key file: served again, without a restart.
        shutil.copy2(Path(app.instance_path) / "dossier_key", folder / "dossier_key")
        assert post(rebuilt, body(dossier="HS-2025-000001"), token).status_code == 409
        assert post(rebuilt, used, token).status_code == 200  # the phone's retry
        assert post(rebuilt, body(dossier="HS-2025-000002"), token).status_code == 201


def test_the_phone_form_says_why_it_cannot_record(
    app: Flask, client: FlaskClient, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert post(client, body(), token).status_code == 201
    with other_machine(app, tmp_path / "other", monkeypatch, DOSSIER_HASH_KEY="wrong") as other:
        other.post("/s/DK-1", data={"step": "rating", "mood": "5"})
        other.post("/s/DK-1", data={"step": "reasons"})
        last = other.post("/s/DK-1", data={"step": "follow_up"})
        assert last.status_code == 503
        page = last.get_data(as_text=True)
        assert "Chưa thể nhận ý kiến lúc này" in page and "khóa hồ sơ" in page
    assert count_responses() == 1


def test_a_database_from_before_fingerprints_adopts_the_derived_key(
    app: Flask, client: FlaskClient, token: str
) -> None:
    """Earlier versions keyed dossiers by a key derived from SECRET_KEY and put that hash
    into the content hash; such a database keeps its dossiers used and its retries."""
    secret = app.config["SECRET_KEY"].encode()
    legacy = hmac.new(secret, b"survey-platform/dossier-hash/v1", hashlib.sha256).digest()
    legacy_hash = hmac.new(legacy, b"HS-2024-000009", hashlib.sha256).hexdigest()
    desk = db.session.scalar(select(Desk).where(Desk.code == "DK-1"))
    assert desk is not None
    questionnaire = questionnaires.latest("kiosk_quick")
    assert questionnaire is not None
    earlier = body(dossier="HS-2024-000009")
    draft = ResponseDraft(
        client_id=uuid.UUID(earlier["id"]),
        questionnaire_id=questionnaire.id,
        unit_id=desk.unit_id,
        desk_id=desk.id,
        channel=Channel.KIOSK,
        answers={"mood": 4},
        lang="vi",
        submitted_at=datetime.fromisoformat(SUBMITTED).astimezone(UTC),
        dossier_hash=legacy_hash,
        extra_hash_fields={"dossier_hash": legacy_hash},  # as earlier versions hashed it
    )
    assert store(draft).value == "created"
    assert stored_fingerprint() is None

    assert post(client, body(dossier="hs-2024-000009"), token).status_code == 409
    assert post(client, earlier, token).status_code == 200  # the old retry still matches
    text = (Path(app.instance_path) / "dossier_key").read_text(encoding="ascii").strip()
    assert text == "hex:" + legacy.hex()
    assert stored_fingerprint() == dossier_key.fingerprint(legacy)
    # From now on the key is the file's: rotating SECRET_KEY no longer matters.
    app.config["SECRET_KEY"] = "rotated"
    assert post(client, body(dossier="HS-2024-000009"), token).status_code == 409
