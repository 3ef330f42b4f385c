"""Dossier codes (mã hồ sơ): normalised, stored only as a keyed hash, and every
submission refused while this server's key is not the one the data was recorded with."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from flask_babel import gettext as _

from survey_app.collection import dossier_key as dossier_key_service
from survey_app.collection.submissions.result import SubmitResult, error_result


def normalise_dossier(code: str) -> str:
    """The canonical form of a dossier code: NFKC, no spaces, upper case."""
    return "".join(unicodedata.normalize("NFKC", code).split()).upper()


def dossier_key() -> bytes:
    """The HMAC key for dossier codes (:func:`survey_app.collection.dossier_key.dossier_key`)."""
    return dossier_key_service.dossier_key()


def hash_dossier(code: str) -> str:
    """HMAC-SHA256 (hex) of a normalised dossier code; the code itself is never stored."""
    message = normalise_dossier(code).encode("utf-8")
    return hmac.new(dossier_key(), message, hashlib.sha256).hexdigest()


def dossier_key_refusal() -> SubmitResult | None:
    """503 while this machine's dossier key is not the data's (nothing is stored)."""
    problem = dossier_key_service.check()
    if problem is None:
        return None
    if problem is dossier_key_service.KeyProblem.MISSING:
        reason = _(
            "this server has no dossier key, but the stored responses were recorded with one"
        )
    else:
        reason = _(
            "this server's dossier key is not the one the stored responses were recorded with"
        )
    message = _(
        "Responses cannot be accepted at the moment: %(reason)s. Nothing was stored; "
        "please try again later. (An administrator must restore the dossier key: "
        "DOSSIER_HASH_KEY or instance/dossier_key.)",
        reason=reason,
    )
    result = error_result(503, str(problem), message, reason=reason)
    return SubmitResult(result.status, result.body, {"Retry-After": "300"})
