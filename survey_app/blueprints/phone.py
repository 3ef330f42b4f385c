"""The phone form: ``/s/<desk_code>``, one section per page, works without JavaScript.

Answers stay in the session until the last page, which sends the whole response to
``submissions.entry.submit`` (the same service the JSON API uses) with channel "phone".
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.blueprints.kiosk import audio_url
from survey_app.collection import kiosk as form_service
from survey_app.collection import phone as phone_service
from survey_app.collection import questionnaire as spec
from survey_app.i18n import current_lang

bp = Blueprint("phone", __name__, url_prefix="/s")

DOSSIER_FIELD = "dossier"


def _form() -> form_service.FormQuestionnaire:
    form = form_service.form_questionnaire(current_app.config["PHONE_QUESTIONNAIRE"])
    if form is None:
        abort(503)
    return form


@bp.route("/<desk_code>", methods=["GET", "POST"])
def survey(desk_code: str) -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    desk = form_service.active_desk(desk_code) or abort(404)
    form = _form()
    q = form.definition
    state = phone_service.current_state(session, desk.code, form)
    if request.method == "POST":
        # The last page names its survey itself (a resend may come without the session).
        resumed = phone_service.resumed_state(request.form.get("resume", ""), desk.code, form)
        if resumed is not None:
            state = resumed
            phone_service.save_answers(session, state, state["answers"])
    answers: dict[str, Any] = state["answers"]
    pages = phone_service.pages(q, answers)
    codes = [section.code for section in pages]
    step = (request.form if request.method == "POST" else request.args).get("step", "")
    sent_before = phone_service.just_sent(session)
    if sent_before and step and step != codes[0] and not answers:
        # Back (or a stale page) after the thank-you page: a fresh form from its start.
        return redirect(url_for("phone.survey", desk_code=desk.code))
    if step not in codes:
        if request.method == "POST":
            return redirect(url_for("phone.survey", desk_code=desk.code))
        step = codes[0]
    section = pages[codes.index(step)]

    if request.method == "GET":
        return _no_store(_render(desk, form, state, section, answers))

    values = phone_service.parse_section(section, request.form)
    answers = phone_service.merge(answers, section, values)
    phone_service.save_answers(session, state, answers)
    pages = phone_service.pages(q, answers)
    codes = [s.code for s in pages]
    index = codes.index(section.code) if section.code in codes else 0

    if request.form.get("action") == "back":
        previous = codes[max(index - 1, 0)]
        return redirect(url_for("phone.survey", desk_code=desk.code, step=previous))

    item_codes = {item.code for item in section.items}
    errors = phone_service.errors_by_item(q, answers, item_codes)
    if errors:
        return _render(desk, form, state, section, answers, errors=errors), 422
    if index + 1 < len(codes):
        return redirect(url_for("phone.survey", desk_code=desk.code, step=codes[index + 1]))
    return _send(desk, form, state, section)


def _send(
    desk: Any, form: form_service.FormQuestionnaire, state: dict[str, Any], section: spec.Section
) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The last page was posted: check everything, then hand the response over."""
    from survey_app.collection.submissions import schema as submission_schema
    from survey_app.collection.submissions.entry import submit

    q = form.definition
    answers = state["answers"]
    dossier = ""
    if desk.dossier_codes:
        dossier = request.form.get(DOSSIER_FIELD, "").strip()
        if len(dossier) > submission_schema.max_length("dossier"):
            problem = {DOSSIER_FIELD: _("The dossier code is too long.")}
            return _render(desk, form, state, section, answers, problems=problem), 422
    everything = phone_service.errors_by_item(q, answers)
    if everything:
        first = next(s for s in q.sections if any(i.code in everything for i in s.items))
        return _render(desk, form, state, first, answers, errors=everything), 422

    payload = phone_service.payload(state, q, lang=current_lang(), dossier=dossier or None)
    result = submit(payload, device_token=None, client_ip=request.remote_addr)
    if result.status in (200, 201):
        phone_service.finish(session)
        return redirect(url_for("phone.thanks", desk_code=desk.code))
    problems = _problems(result.status, result.body)
    page = _render(desk, form, state, section, answers, problems=problems)
    return page, result.status, dict(result.headers)  # Retry-After on 429


def _problems(status: int, body: dict[str, Any]) -> dict[str, str]:
    """What went wrong, in the user's language: field ("" for the whole form) → message."""
    if status == 429:
        return {"": _("Too many answers were sent from this connection. Please try again later.")}
    if status == 503:  # e.g. the dossier key is not the data's: the message says why
        return {"": str(body.get("message") or _("An error occurred."))}
    problems: dict[str, str] = {}
    if body.get("error") == "duplicate_dossier":
        problems[DOSSIER_FIELD] = _(
            "An answer for this dossier code has already been recorded. "
            "Each dossier can be rated only once."
        )
        problems[""] = problems[DOSSIER_FIELD]
    for error in body.get("errors") or []:
        field = str(error.get("field", ""))
        code = str(error.get("code", ""))
        if field == DOSSIER_FIELD:
            problems[field] = _("This dossier code is not valid. Please check it.")
        elif code in spec.ANSWER_ERROR_CODES:
            problems.setdefault(field, spec.ANSWER_ERROR_CODES[code].get(current_lang()))
    if not problems or status == 409:
        problems.setdefault(
            "", _("Your answers could not be recorded. Please check them and try again.")
        )
    return problems


def _render(
    desk: Any,
    form: form_service.FormQuestionnaire,
    state: dict[str, Any],
    section: spec.Section,
    answers: dict[str, Any],
    *,
    errors: dict[str, spec.AnswerError] | None = None,
    problems: dict[str, str] | None = None,
) -> str:
    q = form.definition
    lang = current_lang()
    pages = phone_service.pages(q, answers)
    codes = [s.code for s in pages]
    index = codes.index(section.code) if section.code in codes else 0
    messages = {
        code: spec.ANSWER_ERROR_CODES[error.code].get(lang)
        for code, error in (errors or {}).items()
    }
    messages.update({k: v for k, v in (problems or {}).items() if k})
    items = phone_service.visible_in(q, section, answers)
    spoken = phone_service.page_texts(q, section, items, lang, first=index == 0)
    if index + 1 == len(pages) and desk.dossier_codes:
        strings = phone_service.spoken_strings()
        spoken += [strings["dossier_label"], strings["dossier_help"]]
    return render_template(
        "phone/survey.html",
        desk=desk,
        q=q,
        section=section,
        items=items,
        listen=phone_service.listen_urls(spoken, lang, audio_url),
        answers=answers,
        page=index + 1,
        pages=max(phone_service.page_count(q, answers), len(pages)),
        last=index + 1 == len(pages),
        ask_dossier=desk.dossier_codes,
        messages=messages,
        general=(problems or {}).get(""),
        lang=lang,
        resume=phone_service.resume_token(state) if index + 1 == len(pages) else None,
    )


def _no_store(page: str) -> Response:
    """A form page the browser must not keep: Back after sending asks the server again."""
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<desk_code>/thanks")
def thanks(desk_code: str) -> Response:
    desk = form_service.active_desk(desk_code) or abort(404)
    strings = phone_service.spoken_strings()
    listen = phone_service.listen_urls(
        [strings["thanks_title"], strings["thanks_text"]], current_lang(), audio_url
    )
    return _no_store(render_template("phone/thanks.html", desk=desk, listen=listen))
