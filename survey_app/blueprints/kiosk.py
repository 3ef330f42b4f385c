"""The desk's tablet: ``/kiosk/<desk_code>``, its token check and its service worker.

The page itself accepts nothing: its script sends each response to the submission API
with the tablet's device token, queueing it in IndexedDB first (see
``static/kiosk/kiosk.js``). The token reaches the tablet in the URL fragment
(``#token=...``), which browsers never send to the server.
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)

from survey_app.collection import audio as audio_service
from survey_app.collection import desks as desk_service
from survey_app.collection import kiosk as kiosk_service
from survey_app.collection import read_aloud
from survey_app.extensions import limiter
from survey_app.i18n import current_lang
from survey_app.static_files import ONE_YEAR

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")

STATIC_KIOSK = Path(__file__).resolve().parent.parent / "static" / "kiosk"


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, served from /kiosk/ so that its scope covers every kiosk page."""
    response = send_from_directory(STATIC_KIOSK, "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = url_for("kiosk.service_worker")[: -len("sw.js")]
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/<desk_code>")
def kiosk(desk_code: str) -> str:
    desk = kiosk_service.active_desk(desk_code) or abort(404)
    form = kiosk_service.form_questionnaire(current_app.config["KIOSK_QUESTIONNAIRE"])
    if form is None:
        abort(503)
    config = kiosk_service.client_config(
        desk,
        form,
        lang=current_lang(),
        urls={
            # The submission API's address is part of its contract.
            "api": request.script_root + "/api/v1/responses",
            "check": url_for("kiosk.check", desk_code=desk.code),
            "sw": url_for("kiosk.service_worker"),
            "faces": url_for("static", filename="kiosk/faces.svg"),
            "page": url_for("kiosk.kiosk", desk_code=desk.code),
        },
        timeouts=_timeouts(desk.inactivity_timeout_s),
    )
    config["audio"] = read_aloud.audio_urls(form, audio_url, "kiosk")
    # Tests drive the page headless, where a full-screen request only gets in the way.
    config["fullscreen"] = not current_app.testing
    return render_template(
        "kiosk/kiosk.html",
        desk=desk,
        config=config,
        not_ready=kiosk_service.in_both_languages(kiosk_service.not_ready_strings),
    )


def audio_url(name: str) -> str:
    return url_for("kiosk.audio", name=name)


@bp.get("/audio/<name>")
def audio(name: str) -> Response:
    """A read-aloud file: named by its content's checksum, so cached for a year.

    Served from memory (a few hundred kilobytes): a media element that cancels its
    range request half-way leaves no open file for the server to forget (the browser
    tests saw werkzeug leave one to the garbage collector).
    """
    path = audio_service.file_path(name) or abort(404)
    response = send_file(
        io.BytesIO(path.read_bytes()),
        mimetype=audio_service.media_type(name),
        etag=path.stem,
        last_modified=path.stat().st_mtime,
        max_age=ONE_YEAR,
        conditional=True,
    )
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response


@bp.get("/<desk_code>/check")
@limiter.limit("30 per minute")
def check(desk_code: str) -> tuple[Response, int]:
    """200 if the Bearer token is this desk's current device token, else 401."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    desk = desk_service.desk_for_token(desk_code, token) if token else None
    if desk is None:
        return jsonify({"ok": False, "error": "invalid_token"}), 401
    return jsonify({"ok": True, "desk": desk.code}), 200


def _timeouts(inactivity_s: int) -> dict[str, float]:
    """Seconds for the inactivity reset, the thank-you screen and the resend timer.

    Tests may shorten them with ``?idle=``, ``?thanks=`` and ``?retry=``, which are
    honoured only when the app runs in testing mode.
    """
    timeouts = {
        "idle": float(inactivity_s or 60),
        "thanks": float(current_app.config.get("KIOSK_THANKS_SECONDS", 6)),
        "retry": 30.0,
    }
    if current_app.testing:
        for key in timeouts:
            value = request.args.get(key, type=float)
            if value is not None and 0 < value <= 3600:
                timeouts[key] = value
    return timeouts
