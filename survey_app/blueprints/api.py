"""The JSON API under ``/api/v1``: submitting responses and the OpenAPI document.

Views only translate HTTP to the service layer (services/submissions.py) and back.
The blueprint is exempt from CSRF: kiosks authenticate with a bearer device token and
phones send anonymous JSON; no cookie grants anything here.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import force_locale
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from survey_app import errors, openapi
from survey_app.extensions import LANGUAGES, csrf
from survey_app.services import submissions

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def accept_language() -> str:
    """vi or en from the Accept-Language header; vi when neither is asked for."""
    return request.accept_languages.best_match(LANGUAGES, default="vi") or "vi"


def bearer_token() -> str | None:
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token


@bp.post("/responses")
def submit_response() -> tuple[Response, int, dict[str, str]]:
    with force_locale(accept_language()):
        try:
            payload = submissions.parse_request_body(
                request.get_data(cache=False), request.mimetype
            )
        except submissions.RequestBodyError as error:
            result = error.result
        else:
            result = submissions.submit(
                payload, device_token=bearer_token(), client_ip=request.remote_addr
            )
    return jsonify(result.body), result.status, result.headers


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document())


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response | str, int]:
    """JSON errors (413, 405, …) with messages in the Accept-Language language."""
    with force_locale(accept_language()):
        return errors.handle_http_error(error)
