"""The JSON API under ``/api/v1``: submitting responses, reading indices, the OpenAPI.

Views only translate HTTP to the service layer (collection/submissions/) and back.
The blueprint is exempt from CSRF: kiosks authenticate with a bearer device token and
phones send anonymous JSON; no cookie grants anything here.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import Authorization
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from survey_app import errors, openapi
from survey_app.access import READERS
from survey_app.collection.submissions.body import parse_request_body, plain_text
from survey_app.collection.submissions.entry import submit
from survey_app.collection.submissions.result import RequestBodyError, SubmitResult
from survey_app.extensions import LANGUAGES, csrf
from survey_app.i18n import babel_locale, preferred_language
from survey_app.models import User
from survey_app.reporting import queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def accept_language() -> str:
    """vi or en from the request's Accept-Language header."""
    return preferred_language(request.accept_languages)


def bearer_of(auth: Authorization | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, else None."""
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token


def bearer_token() -> str | None:
    return bearer_of(request.authorization)


def answer_submission(
    raw: bytes, mimetype: str, *, language: str, device_token: str | None, client_ip: str | None
) -> SubmitResult:
    """The answer to ``POST /api/v1/responses``: the view's and the submission lane's
    (survey_app/blueprints/submission_lane.py), with messages in ``language`` unless the
    body's ``lang`` asks for the other one."""
    with force_locale(babel_locale(language)):
        try:
            payload, text = parse_request_body(raw, mimetype)
        except RequestBodyError as error:
            return error.result
        return submit(
            payload, device_token=device_token, client_ip=client_ip, plain=plain_text(text)
        )


@bp.post("/responses")
def submit_response() -> tuple[Response, int, dict[str, str]]:
    result = answer_submission(
        request.get_data(cache=False),
        request.mimetype,
        language=accept_language(),
        device_token=bearer_token(),
        client_ip=request.remote_addr,
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


# ----------------------------------------------------------------------------- read API
# Session-authenticated (the dashboard's login), restricted to the caller's unit scope.


def _reader() -> User:
    if not current_user.is_authenticated:
        raise queries.QueryError(401, "unauthorized", _("Please log in to continue."))
    if current_user.role not in READERS:
        raise queries.QueryError(
            403, "forbidden", _("You do not have permission to see this page.")
        )
    return current_user  # type: ignore[return-value]


def _answer(build: Callable[[User], dict]) -> tuple[Response, int]:
    requested = request.args.get("lang")
    with force_locale(requested if requested in LANGUAGES else accept_language()):
        try:
            user = _reader()
            queries.check_choice("lang", requested, LANGUAGES)
            return jsonify(build(user)), 200
        except queries.QueryError as error:
            return jsonify({"error": error.error, "message": error.message}), error.status


def _common() -> dict[str, str]:
    return {"index": request.args.get("index", "overall"), "kind": request.args.get("kind", "rate")}


@bp.get("/indices")
def index_table() -> tuple[Response, int]:
    return _answer(
        lambda user: queries.index_table(
            user,
            request.args.getlist("unit"),
            request.args.getlist("wave"),
            index=request.args.get("index"),
            kind=request.args.get("kind"),
            by=request.args.getlist("by"),
            field=request.args.get("field"),
            channel=request.args.get("channel"),
        )
    )


@bp.get("/changes")
def changes() -> tuple[Response, int]:
    return _answer(
        lambda user: queries.change(
            user,
            request.args.get("unit", ""),
            request.args.get("from", ""),
            request.args.get("to", ""),
            **_common(),
        )
    )


@bp.get("/trends")
def trends() -> tuple[Response, int]:
    return _answer(
        lambda user: queries.trend(
            user, request.args.get("unit", ""), request.args.getlist("wave"), **_common()
        )
    )


@bp.get("/rankings")
def rankings() -> tuple[Response, int]:
    return _answer(
        lambda user: queries.ranking(
            user,
            request.args.get("parent", ""),
            request.args.get("wave", ""),
            unit_kind=request.args.get("unit_kind"),
            previous=request.args.get("previous"),
            **_common(),
        )
    )
