"""The edge: what every request must satisfy before a view or the database sees it.

Three guards, registered by :func:`register` from ``create_app`` before any extension,
so they run first:

- **Characters.** No text of the path, the query string or a form (names, values and
  file names) may hold a NUL, another control character (C0, DEL, C1) or a lone
  surrogate; tab, newline and carriage return are allowed in query and form values
  (a text area), never in the path or a name.
  PostgreSQL refuses NUL in text and no driver encodes a surrogate, so such text would
  otherwise fail deep inside a query as a server error; no code, name or comment
  needs it. The request is answered 400 with a translated message (JSON under
  ``/api/``). JSON bodies are checked by the API's own validation, which names the
  field (:func:`survey_app.collection.submissions.entry.submit` uses :func:`forbidden_in`).
- **Integer ids.** ``<int:...>`` in a route matches ASCII digits only and at most the
  database's integer (2**31 - 1): a larger id cannot exist, so it is a 404 rather than
  an overflow in the driver (:class:`BoundedIntegerConverter`).
- **Body read time.** Under gunicorn a request whose body pauses longer than
  ``BODY_READ_TIMEOUT_S`` (5 s) is answered 408 (:class:`BodyTimeout`). A sync worker
  otherwise waits on a Content-Length larger than the body until the arbiter kills it
  (``--timeout``, 30 s), and the client gets no answer at all. gunicorn has no setting
  for this (its ``--timeout`` is how long a silent worker lives, which would also cut
  slow but legitimate pages such as PDF scorecards), so the limit is set here on the
  connection's socket (``environ["gunicorn.socket"]``), for the body only. It bounds
  each wait for data, not the whole body: a client dripping a byte every few seconds
  is still stopped only by the worker timeout (and, in production, by the reverse
  proxy, which buffers bodies).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import RequestTimeout
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from survey_app.i18n import preferred_language

#: Characters no text sent to the app may hold: C0 controls, DEL, C1 controls and
#: lone surrogates.
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, but tab, newline and carriage return are allowed (free text).
FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: The largest value of the database's ``INTEGER`` (ids, versions).
DB_INT_MAX = 2**31 - 1
#: Form content types whose fields the guard reads (anything else is the view's).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: How much of a parameter's name a message repeats.
NAME_MAX = 40


def forbidden_in(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds a character no input may hold.

    ``multiline`` allows tab, newline and carriage return (free text).
    """
    return (FORBIDDEN_IN_TEXT if multiline else FORBIDDEN).search(text) is not None


def printable_name(name: str) -> str:
    """A parameter name fit for a message: forbidden characters dropped, shortened."""
    cleaned = FORBIDDEN.sub("", name)
    return cleaned if len(cleaned) <= NAME_MAX else cleaned[:NAME_MAX] + "…"


# ---------------------------------------------------------------------------
# Characters
# ---------------------------------------------------------------------------


def _first_forbidden() -> str | None:
    """The message for the first part of the request that holds a forbidden character."""
    if forbidden_in(request.path):
        return _("The address contains characters that are not allowed.")
    for name, values in request.args.lists():
        # A GET form's text area (the planner's list of units) sends line breaks.
        if forbidden_in(name) or any(forbidden_in(value, multiline=True) for value in values):
            return _(
                "The parameter %(name)s contains characters that are not allowed.",
                name=printable_name(name),
            )
    if request.mimetype not in FORM_TYPES:
        return None
    for name, values in request.form.lists():
        if forbidden_in(name) or any(forbidden_in(value, multiline=True) for value in values):
            return _(
                "The field %(name)s contains characters that are not allowed.",
                name=printable_name(name),
            )
    for name, files in request.files.lists():
        if forbidden_in(name) or any(forbidden_in(f.filename or "") for f in files):
            return _(
                "The field %(name)s contains characters that are not allowed.",
                name=printable_name(name),
            )
    return None


def refuse_forbidden_characters() -> tuple[Response | str, int] | None:
    """``before_request``: 400 for text holding a forbidden character, else nothing."""
    if request.path.startswith("/api/"):
        # The API speaks the Accept-Language language (survey_app.blueprints.api).
        with force_locale(preferred_language(request.accept_languages)):
            message = _first_forbidden()
            if message is None:
                return None
            return jsonify({"error": "invalid_characters", "message": message}), 400
    message = _first_forbidden()
    if message is None:
        return None
    return render_template("error.html", code=400, message=message), 400


# ---------------------------------------------------------------------------
# Integer ids
# ---------------------------------------------------------------------------


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` of ASCII digits up to the database's integer, else no match (404).

    Werkzeug's own matches any Unicode decimal digit (``١٢`` is 12) and any size.
    ``max`` may still be given per rule (``<int(max=99):n>``).
    """

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = DB_INT_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


# ---------------------------------------------------------------------------
# Body read time
# ---------------------------------------------------------------------------


class _TimedBody:
    """``wsgi.input`` whose reads give up (408) when the client stops sending.

    The socket's timeout applies to each ``recv`` gunicorn makes for the body.
    """

    def __init__(self, stream: Any, sock: socket.socket, idle: float) -> None:
        self._stream = stream
        self._socket = sock
        self._idle = idle

    def _timed(self, read: Callable[..., Any], *args: Any) -> Any:
        self._socket.settimeout(self._idle)
        try:
            return read(*args)
        except TimeoutError:  # socket.timeout
            raise RequestTimeout() from None

    def read(self, size: int | None = -1) -> bytes:
        return self._timed(self._stream.read, size)  # type: ignore[no-any-return]

    def readline(self, size: int | None = -1) -> bytes:
        return self._timed(self._stream.readline, size)  # type: ignore[no-any-return]

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self._timed(self._stream.readlines, hint)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


class BodyTimeout:
    """WSGI middleware: under gunicorn, bound how long the body may pause.

    The limit is read from the app's configuration on every request
    (``BODY_READ_TIMEOUT_S``); the socket's own timeout is restored before the
    response is sent. Without ``gunicorn.socket`` (the test client, another server)
    nothing changes.
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = environ.get("gunicorn.socket")
        if not isinstance(sock, socket.socket):
            return self.wsgi_app(environ, start_response)
        idle = float(self.app.config.get("BODY_READ_TIMEOUT_S", 5))
        previous = sock.gettimeout()
        environ["wsgi.input"] = _TimedBody(environ["wsgi.input"], sock, idle)
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            sock.settimeout(previous)


def register(app: Flask) -> None:
    """Install the three guards; call before any extension registers its own hooks."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(refuse_forbidden_characters)
    app.wsgi_app = BodyTimeout(app, app.wsgi_app)  # type: ignore[method-assign]
