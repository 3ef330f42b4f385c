"""Friendly error pages in the user's language, and JSON errors under ``/api/``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from survey_app import formatting


def _message(code: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please log in to continue."),
        403: _("You do not have permission to see this page."),
        404: _("The page you asked for does not exist."),
        405: _("This action is not allowed here."),
        408: _("The data took too long to arrive. Please try again."),
        409: _("This conflicts with data already stored."),
        413: _("The data sent is too large."),
        422: _("The data sent is not valid."),
        429: _("Too many requests. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again later."),
    }
    return messages.get(code, _("An error occurred."))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _back_to_form(message: str, fallback: str | None = None) -> Response | None:
    """A form's POST refused as a whole: back to the page it came from on this site
    (else to ``fallback``), with ``message`` shown there. None for the API, another
    method, or nowhere to go back to."""
    if wants_json() or request.method != "POST":
        return None
    back = _same_site_referrer() or fallback
    if back is None:
        return None
    flash(message, "error")
    return redirect(back, 303)


def too_large_back_to_form() -> Response | None:
    """A form upload beyond MAX_CONTENT_LENGTH goes back to the form with a message
    stating the limit (the browser shows the form again, not a bare 413 page)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    size = formatting.number(round(limit / (1024 * 1024), 1)) if limit else "—"
    message = _("The file is too large: uploads are limited to %(size)s MB.", size=size)
    return _back_to_form(message, fallback=request.path)


def _same_site_referrer() -> str | None:
    """The page the request came from, as a path on this site (None otherwise)."""
    back = urlsplit(request.referrer or "")
    if back.netloc not in ("", request.host) or not back.path.startswith("/"):
        return None
    return back.path + (f"?{back.query}" if back.query else "")


def handle_http_error(error: HTTPException) -> tuple[Response | str, int] | Response:
    code = error.code or 500
    if code == 413 and (back := too_large_back_to_form()) is not None:
        return back
    message = _message(code)
    if wants_json():
        body: dict[str, object] = {"error": error.name.lower().replace(" ", "_")}
        body["message"] = message
        return jsonify(body), code
    return render_template("error.html", code=code, message=message), code


def handle_csrf_error(error: CSRFError) -> tuple[Response | str, int] | Response:
    """A form sent without a valid CSRF token: usually a page left open longer than the
    token lives (``WTF_CSRF_TIME_LIMIT``, an hour) or past the end of its session. Back
    to the page it came from, if on this site, saying so (the phone form keeps the
    answers of its earlier pages in the session); otherwise the error page says it."""
    message = _(
        "This page had been open too long, or its session had ended, so nothing was "
        "sent. Please send it again."
    )
    return _back_to_form(message) or (render_template("error.html", code=400, message=message), 400)


def handle_cannot_compute(error: Exception) -> tuple[Response | str, int]:
    """A page whose figures cannot be computed (e.g. a lonely PSU under the rule
    'fail') answers 422 with the reason, not 500 and not an empty page."""
    from survey_app.reporting.indices.figures import cannot_compute_message

    message = cannot_compute_message(error)
    if wants_json():
        return jsonify({"error": "cannot_compute", "message": str(error)}), 422
    return render_template("error.html", code=422, message=message), 422


def handle_unexpected(error: Exception) -> tuple[Response | str, int]:
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def register(app: Flask) -> None:
    from survey_app.collection.scoring import IndexRequestError

    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(IndexRequestError, handle_cannot_compute)
    app.register_error_handler(Exception, handle_unexpected)
