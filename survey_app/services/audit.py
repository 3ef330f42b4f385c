"""Writing to the audit log. The caller's transaction commits the entry.

Inside a request the actor defaults to the logged-in user, so every service that
records an action (scheme changes, imports, exports, administration) says who did it.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from survey_app.extensions import db
from survey_app.models import AuditLog, User


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
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry
