"""Writing to the audit log. The caller's transaction commits the entry."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

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
    """Add an audit entry to the session (committed with the caller's transaction)."""
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
