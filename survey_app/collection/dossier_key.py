"""The dossier hash key: one per installation's data, checked against a stored fingerprint.

Dossier codes (mã hồ sơ) are stored only as HMAC-SHA256 under this key, so the rule
"one response per dossier" holds only while the key stays the same. The key belongs
to the data, not to a machine: it is ``DOSSIER_HASH_KEY`` when set, otherwise the
contents of ``instance/dossier_key`` (generated once, mode 0600), and every backup
must carry it. It is not derived from ``SECRET_KEY``, which may be rotated.

The first time submissions are accepted, a fingerprint of the key (an HMAC of a
fixed label under the key; never the key) is stored in ``app_settings``. While the
key configured here does not match that fingerprint (a backup restored on a machine
without the key, or servers configured with different keys), :func:`check` reports
why and submissions are refused (503) rather than accepting used dossiers again;
the reading pages keep working.

A database written before fingerprints existed holds dossier hashes keyed by the
key the app derived from ``SECRET_KEY`` when ``DOSSIER_HASH_KEY`` was unset. On such
a database, a machine with no key file adopts that derived key once, writing it to
``instance/dossier_key`` (as ``hex:…``), so those dossiers keep counting as used.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
from functools import lru_cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey_app.config import DOSSIER_KEY_FILE, create_key_file, read_key_file
from survey_app.extensions import db
from survey_app.models import AppSetting, Response

logger = logging.getLogger(__name__)

#: ``app_settings`` key of the fingerprint.
SETTING = "dossier_key_fingerprint"
FINGERPRINT_LABEL = b"survey-platform/dossier-key-fingerprint/v1"
#: The label under which versions before fingerprints derived the key from SECRET_KEY.
LEGACY_LABEL = b"survey-platform/dossier-hash/v1"
HEX_PREFIX = "hex:"
_VERIFIED = "survey.dossier_key_verified"
_FILE_KEY = "survey.dossier_key_file"
_LOGGED = "survey.dossier_key_logged"


class KeyProblem(enum.StrEnum):
    """Why submissions are refused; the value is the API's ``error`` code."""

    MISSING = "dossier_key_missing"  # a fingerprint is stored, but this machine has no key
    MISMATCH = "dossier_key_mismatch"  # this machine's key is not the data's key


def key_bytes(text: str) -> bytes:
    """The key a setting names: ``hex:`` followed by hex digits, else the text's UTF-8."""
    if text.startswith(HEX_PREFIX):
        return bytes.fromhex(text[len(HEX_PREFIX) :])
    return text.encode("utf-8")


@lru_cache(maxsize=16)
def fingerprint(key: bytes) -> str:
    """HMAC-SHA256 (hex) of a fixed label under the key: names the key, reveals nothing.
    (Kept per key: :func:`check` compares it on every submission.)"""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def configured_key() -> tuple[bytes | None, str]:
    """This machine's key and where it comes from (``DOSSIER_HASH_KEY``, the file, none)."""
    value = current_app.config.get("DOSSIER_HASH_KEY")
    if value:
        return key_bytes(str(value)), "DOSSIER_HASH_KEY"
    text = current_app.extensions.get(_FILE_KEY)
    if text is None:
        text = read_key_file(current_app.instance_path, DOSSIER_KEY_FILE)
        if text is None:
            return None, "none"
        current_app.extensions[_FILE_KEY] = text  # read again only after a refusal
    return key_bytes(text), f"instance/{DOSSIER_KEY_FILE}"


def dossier_key() -> bytes:
    """The HMAC key for dossier codes (:func:`check` has made sure it is the data's).

    Raises
    ------
    RuntimeError
        If this machine has no key (``DOSSIER_HASH_KEY`` unset and no key file).
    """
    key, _source = configured_key()
    if key is None:
        raise RuntimeError("no dossier hash key: set DOSSIER_HASH_KEY or restore the key file")
    return key


def _stored_fingerprint() -> str | None:
    return db.session.scalar(select(AppSetting.value).where(AppSetting.key == SETTING))


def _record_fingerprint(value: str) -> str:
    """Store the fingerprint unless one is stored; returns the one stored."""
    db.session.add(AppSetting(key=SETTING, value=value))
    try:
        db.session.commit()
    except IntegrityError:  # another worker recorded one first
        db.session.rollback()
        stored = _stored_fingerprint()
        if stored is None:
            raise
        return stored
    return value


def _legacy_key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, LEGACY_LABEL, hashlib.sha256).digest()


def _first_key(key: bytes | None) -> bytes:
    """The key to record when the data has no fingerprint yet (creating the key file)."""
    if key is not None:
        return key
    has_dossiers = db.session.scalar(
        select(Response.id).where(Response.dossier_hash.is_not(None)).limit(1)
    )
    if has_dossiers is not None:
        text = HEX_PREFIX + _legacy_key().hex()
        logger.warning(
            "Dossier hashes stored before key fingerprints existed: adopting the key "
            "earlier versions derived from SECRET_KEY into instance/%s.",
            DOSSIER_KEY_FILE,
        )
    else:
        text = secrets.token_hex(32)
        logger.info("Generated the dossier hash key into instance/%s.", DOSSIER_KEY_FILE)
    return key_bytes(create_key_file(current_app.instance_path, DOSSIER_KEY_FILE, text))


def _log_once(problem: KeyProblem, message: str, *args: object) -> None:
    logged: set[KeyProblem] = current_app.extensions.setdefault(_LOGGED, set())
    if problem not in logged:
        logged.add(problem)
        logger.error(message, *args)


def check() -> KeyProblem | None:
    """Whether this machine's key is the data's; records the fingerprint the first time.

    Returns None when submissions may be accepted, else why not (logged once per
    process, with what to do). A key once found right is remembered by the process,
    so this costs a query only until then.
    """
    key, source = configured_key()
    if key is not None and current_app.extensions.get(_VERIFIED) == fingerprint(key):
        return None
    problem = _compare(key, source)
    if problem is not None:
        current_app.extensions.pop(_FILE_KEY, None)  # a restored key file is seen next time
    return problem


def _compare(key: bytes | None, source: str) -> KeyProblem | None:
    stored = _stored_fingerprint()
    if key is None and stored is not None:
        # The key file is written before its fingerprint is committed: read after the
        # fingerprint, it is there if another worker has just created both.
        current_app.extensions.pop(_FILE_KEY, None)
        key, source = configured_key()
    if stored is None:
        key = _first_key(key)
        stored = _record_fingerprint(fingerprint(key))
        source = source if source != "none" else f"instance/{DOSSIER_KEY_FILE}"
    if key is None:
        _log_once(
            KeyProblem.MISSING,
            "Refusing submissions: the database holds a dossier key fingerprint but this "
            "machine has no dossier key. Restore instance/%s from the backup or set "
            "DOSSIER_HASH_KEY to the key the data was recorded with.",
            DOSSIER_KEY_FILE,
        )
        return KeyProblem.MISSING
    if not hmac.compare_digest(stored, fingerprint(key)):
        _log_once(
            KeyProblem.MISMATCH,
            "Refusing submissions: the dossier key from %s does not match the fingerprint "
            "stored in the database, so used dossiers would be accepted again. Restore the "
            "key the data was recorded with (instance/%s or DOSSIER_HASH_KEY).",
            source,
            DOSSIER_KEY_FILE,
        )
        return KeyProblem.MISMATCH
    current_app.extensions[_VERIFIED] = stored
    current_app.extensions.pop(_LOGGED, None)
    return None
