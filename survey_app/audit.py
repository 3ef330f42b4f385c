"""Writing to the audit log. The caller's transaction commits the entry.

Inside a request the actor defaults to the logged-in user, so every service that
records an action (scheme changes, imports, exports, administration) says who did it.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context, has_request_context, request
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey_app.extensions import db
from survey_app.models import AuditLog, User

#: The actor of what the command line does (no logged-in user).
SYSTEM_ACTOR = "system"


def record(
    action: str,
    *,
    user: User | None = None,
    username: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry to the session (committed with the caller's transaction).

    Without ``user`` or ``username``, the logged-in user of the current request (if any)
    is recorded as the actor.
    """
    if (
        user is None
        and username is None
        and has_request_context()
        and current_user.is_authenticated
    ):
        user = current_user._get_current_object()
    entry = AuditLog(
        action=action,
        user_id=user.id if user is not None else None,
        username=user.username if user is not None else username,
        target=target,
        details=details or {},
        ip=_client_address(),
    )
    db.session.add(entry)
    return entry


#: Where work outside a request context on behalf of a client (the submission lane,
#: survey_app/blueprints/submission_lane.py) keeps the client's address in ``g``.
CLIENT_ADDRESS = "client_address"


def _client_address() -> str | None:
    if has_request_context():
        return request.remote_addr
    return g.get(CLIENT_ADDRESS) if has_app_context() else None


# What the audit log page shows: actions and detail names in the reader's language.
ACTIONS: dict[str, LazyString] = {
    "login": _l("Logged in"),
    "login.failed": _l("Failed login"),
    "logout": _l("Logged out"),
    "password.change": _l("Changed own password"),
    "password.change_failed": _l("Failed password change"),
    "user.create": _l("Created an account"),
    "user.password_reset": _l("Reset a password"),
    "user.activate": _l("Reactivated an account"),
    "user.deactivate": _l("Deactivated an account"),
    "unit.create": _l("Created a unit"),
    "unit.update": _l("Changed a unit"),
    "units.import": _l("Imported units"),
    "desk.create": _l("Created a desk"),
    "desk.update": _l("Changed a desk"),
    "desk.activate": _l("Reopened a desk"),
    "desk.deactivate": _l("Closed a desk"),
    "desk.token": _l("Issued a kiosk token"),
    "desk.citizen_settings": _l("Changed a desk's settings for citizens"),
    "questionnaire.loaded": _l("Loaded a questionnaire"),
    "questionnaire.updated": _l("Updated a questionnaire"),
    "questionnaire.load_failed": _l("Questionnaire loading refused"),
    "wave.create": _l("Created a wave"),
    "wave.frame": _l("Uploaded a sample frame"),
    "wave.close": _l("Closed a wave"),
    "feedback.series": _l("Set the feedback periods"),
    "data.import": _l("Imported paper questionnaires"),
    "data.import.rejected": _l("Paper import refused"),
    "data.export": _l("Exported microdata"),
    "weighting.create": _l("Saved a weighting scheme"),
    "weighting.activate": _l("Activated a weighting scheme"),
    "weighting.deactivate": _l("Deactivated a weighting scheme"),
    "burst.keep": _l("Kept a burst of identical answers"),
    "burst.exclude": _l("Excluded a burst of identical answers"),
    "alert.acknowledge": _l("Acknowledged an alert"),
    "alert.settings": _l("Changed alert settings"),
    "small_area.enable": _l("Switched on small-area estimates"),
    "small_area.disable": _l("Switched off small-area estimates"),
}
DETAILS: dict[str, LazyString] = {
    "role": _l("role"),
    "unit": _l("unit"),
    "kind": _l("kind"),
    "parent": _l("parent unit"),
    "name": _l("name"),
    "name_vi": _l("name in Vietnamese"),
    "name_en": _l("name in English"),
    "version": _l("version"),
    "method": _l("method"),
    "responses": _l("responses"),
    "deff": _l("design effect of the weights"),
    "file": _l("file"),
    "rows": _l("rows"),
    "created": _l("created"),
    "updated": _l("updated"),
    "already_stored": _l("already stored"),
    "warnings": _l("warnings"),
    "problems": _l("problems"),
    "questionnaire": _l("questionnaire"),
    "period": _l("period"),
    "automatic": _l("automatic"),
    "start": _l("start"),
    "end": _l("end"),
    "lonely_psu": _l("lonely PSU rule"),
    "panel_of": _l("panel of"),
    "frame_psus": _l("PSUs in the frame"),
    "decision": _l("decision"),
    "scheme_id": _l("scheme number"),
    "previous": _l("previous scheme"),
    "errors": _l("errors"),
    "scope": _l("scope"),
    "lang": _l("language"),
    "timeout_s": _l("timeout (s)"),
    "covariates": _l("covariates"),
}


def action_label(action: str) -> str:
    """The action in words; an action without a label keeps its code."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def details_text(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(name, value) pairs of an entry's details, names in words, values formatted
    (no ``None``, numbers the reader's way)."""
    from survey_app import formatting

    shown = []
    for key, item in (details or {}).items():
        label = DETAILS.get(key)
        shown.append((str(label) if label is not None else key, formatting.value(item)))
    return shown


TARGETS: dict[str, LazyString] = {
    "unit": _l("unit"),
    "desk": _l("desk"),
    "wave": _l("wave"),
    "waves": _l("waves"),
    "user": _l("account"),
    "questionnaire": _l("questionnaire"),
    "alert": _l("alert"),
}


def target_text(target: str | None) -> str:
    """``desk:Q-HM-MH`` as "desk Q-HM-MH" in the reader's language."""
    if not target:
        return ""
    kind, _sep, rest = target.partition(":")
    label = TARGETS.get(kind) if rest else None
    return f"{label} {rest}" if label is not None else target
