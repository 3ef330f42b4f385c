"""``POST /api/v1/responses`` without Flask's request machinery: the kiosks' hot path.

A kiosk response is one small JSON body and, on PostgreSQL, one SQL statement
(``collection/submissions/fast_path.py``). Under load, most of a worker's time went to
Flask around the submission rather than to the submission itself: the request context
(the request object, the session, the URL match), the before-request hooks (the edge's
character guard, CSRF, Flask-Limiter, the shared sums, the language switch), the
after-request hooks and the dispatch. For this request every one of those hooks does
nothing: there is no query string, the body is JSON, the blueprint is exempt from
CSRF, the route has no Flask-Limiter limit, and it is a POST. So
:class:`SubmissionLane`, a WSGI middleware in front of Flask, answers it in an
application context only:

- the same service call as the view (:func:`survey_app.blueprints.api.answer_submission`),
  the same JSON as ``jsonify`` writes (the app's JSON provider), the same status and
  headers, written straight to the WSGI server (no response object);
- the security headers (:func:`survey_app.security.with_security_headers`, as
  ``set_security_headers`` adds them): of the after-request hooks, the only one that
  acts on this response;
- the client's address for anything the request writes to the audit log
  (``audit.CLIENT_ADDRESS``; the view has it from the request).

Anything else goes to Flask unchanged:

- another path or method, or a query string (the edge's character guard and
  ``?lang=`` read it);
- a body that is not JSON (the edge reads form bodies);
- no Content-Length, one over ``MAX_CONTENT_LENGTH`` (Flask answers 413) or a body that
  stalls or ends early: the lane gives Flask the bytes it read, or the read's error,
  and Flask answers as it always did (400, 408);
- Flask-Limiter application or default limits in the configuration, or
  ``SUBMISSION_LANE`` set to false;
- an exception while answering. It is logged, and Flask runs the request again from
  the body kept in memory, so its error handlers answer as before. A response stored
  by the first try is answered 200 "repeated": the client's id makes a submission
  idempotent. (The rate-limit hit of the first try, if it was counted, then counts
  twice; only after an exception.)

``tests/web/test_submission_lane.py`` checks that the lane answers exactly what Flask
answers, and that the app's hooks are the ones listed in :data:`SKIPPED_HOOKS`; a new
hook makes that test fail until it has been considered here. Measured in
benchmarks/README.md ("Submissions with a C load generator", "The submission lane").
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g
from werkzeug.datastructures import Authorization, LanguageAccept
from werkzeug.http import HTTP_STATUS_CODES, parse_accept_header, parse_options_header

from survey_app.audit import CLIENT_ADDRESS
from survey_app.blueprints.api import answer_submission, bearer_of
from survey_app.i18n import preferred_language
from survey_app.security import with_security_headers

logger = logging.getLogger(__name__)

#: The path the lane answers (the route of ``api.submit_response``).
PATH = "/api/v1/responses"
#: The content type of the requests it answers.
JSON_MIMETYPE = "application/json"

#: The app's request hooks, by name, that do nothing for a request the lane takes, and
#: why; the lane skips them (the security headers it sets itself).
SKIPPED_HOOKS: dict[str, str] = {
    "refuse_forbidden_characters": "reads the path, the query string and form bodies",
    "csrf_protect": "the API blueprint is exempt",
    "_check_request_limit": "the route has no Flask-Limiter limit (the service counts)",
    "share_within_request": "GET and HEAD only",
    "remember_language": "reads ?lang=",
    "__inject_headers": "adds headers only for a Flask-Limiter limit",
    # It reads the session, so Flask's answer says "Vary: Cookie"; the lane reads no
    # cookie and its answer does not vary with one (nor is an answer to a POST cached).
    "_update_remember_cookie": "acts only on a session's remember flag",
    "__release_context": "releases what _check_request_limit held",
    # The statistics library's language: a submission calls no code of analysis/.
    "library_speaks_the_readers_language": "sets the statistics library's language",
    "library_language_back": "puts back what library_speaks_the_readers_language set",
}

#: Configuration that gives every route a Flask-Limiter limit: the lane then steps aside.
_APP_LIMITS = ("RATELIMIT_APPLICATION", "RATELIMIT_DEFAULT")


class _FailingBody:
    """A request body whose reads raise what the lane's read raised."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def read(self, *_args: Any) -> bytes:
        raise self._error

    readline = read


class SubmissionLane:
    """WSGI middleware: answer ``POST /api/v1/responses`` without Flask's hooks."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def body_length(self, environ: dict[str, Any]) -> int | None:
        """The Content-Length of a request the lane answers; None for one it leaves to
        Flask."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("QUERY_STRING") or environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        config = self.app.config
        if not config.get("SUBMISSION_LANE", True) or any(config.get(k) for k in _APP_LIMITS):
            return None
        mimetype, _options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        length = environ.get("CONTENT_LENGTH", "")
        if mimetype.lower() != JSON_MIMETYPE or not length.isascii():
            return None
        if not length.isdigit():
            return None
        limit = config.get("MAX_CONTENT_LENGTH")
        return None if limit is not None and int(length) > limit else int(length)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = self.body_length(environ)
        if length is None:
            return self.wsgi_app(environ, start_response)
        try:
            raw = environ["wsgi.input"].read(length)
        except Exception as error:  # e.g. the edge's 408 for a stalled body
            environ["wsgi.input"] = _FailingBody(error)
            return self.wsgi_app(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(raw)  # for Flask, if it answers after all
        if len(raw) != length:  # the client went away: Flask answers 400
            return self.wsgi_app(environ, start_response)
        try:
            status, headers, data = self.answer(environ, raw)
        except Exception:
            logger.warning("the submission lane failed; Flask answers instead", exc_info=True)
            return self.wsgi_app(environ, start_response)
        start_response(status, headers)
        return [data]

    def answer(
        self, environ: dict[str, Any], raw: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """The status line, headers and body the view would answer, computed in an
        application context. The body is the app's JSON as ``jsonify`` writes it, the
        headers are a JSON response's, the security headers and the result's own."""
        app = self.app
        languages = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        authorization = Authorization.from_header(environ.get("HTTP_AUTHORIZATION"))
        client_ip = environ.get("REMOTE_ADDR")
        with app.app_context():
            g.setdefault(CLIENT_ADDRESS, client_ip)
            result = answer_submission(
                raw,
                JSON_MIMETYPE,  # the only content type the lane takes (body_length)
                language=preferred_language(languages),
                device_token=bearer_of(authorization),
                client_ip=client_ip,
            )
            data = _json_body(app, result.body)
        # As Flask's make_response does with a view's headers: they replace the JSON
        # response's own of the same name.
        given = {name.lower() for name in result.headers}
        headers = [
            (name, value)
            for name, value in (
                ("Content-Type", app.json.mimetype),
                ("Content-Length", str(len(data))),
            )
            if name.lower() not in given
        ]
        headers += result.headers.items()
        status = f"{result.status} {HTTP_STATUS_CODES[result.status].upper()}"
        return status, with_security_headers(headers, app.config), data


def _json_body(app: Flask, body: dict[str, Any]) -> bytes:
    """``body`` as ``jsonify`` writes it (``flask.json.provider.DefaultJSONProvider``):
    compact unless in debug mode or ``compact`` is false, then a newline."""
    provider = app.json
    compact = getattr(provider, "compact", None)
    if (compact is None and app.debug) or compact is False:
        text = provider.dumps(body, indent=2)
    else:
        text = provider.dumps(body, separators=(",", ":"))
    return f"{text}\n".encode()
