"""Public pages: the start page and the citizens' entry points."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from survey_app.collection import desks as desk_service
from survey_app.collection import phone as phone_service

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> str:
    return render_template("main/index.html")


@bp.get("/kiosk/")
def kiosk_entry() -> str:
    """Where a tablet starts: it explains how a desk's kiosk is enrolled."""
    return render_template("main/kiosk_entry.html")


@bp.get("/s/")
def phone_entry() -> str:
    """Where a phone user who did not scan a QR code picks their desk (``?q=`` searches)."""
    query = request.args.get("q", "")[:100]
    every = desk_service.list_active_desks()
    found = phone_service.search_desks(every, query)
    return render_template("main/phone_entry.html", desks=found, query=query, total=len(every))


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
