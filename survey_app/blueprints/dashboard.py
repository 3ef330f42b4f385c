"""The leaders' dashboard: overview, drill-down, ranking, comparison and kiosk monitor.

Views are thin: they read the query string, ask the page's module of
:mod:`survey_app.reporting.dashboard` for the page's view model (which refuses units
and waves outside the user's scope: 403 or 404, never data) and render it. Charts are
Plotly figures built on the server (:mod:`survey_app.reporting.dashboard.charts`);
every table is also a CSV and an XLSX download at
``/dashboard/download/<page>.<csv|xlsx>`` with the page's own query string.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from werkzeug.exceptions import Forbidden, NotFound

from survey_app.access import READERS, role_required
from survey_app.errors import handle_http_error
from survey_app.i18n import current_lang
from survey_app.reporting import tables
from survey_app.reporting.dashboard import figures as views
from survey_app.reporting.dashboard.charts_kiosk import kiosk_charts
from survey_app.reporting.dashboard.charts_ranking import ranking_chart
from survey_app.reporting.dashboard.charts_trend import trend_chart
from survey_app.reporting.dashboard.collection import collection_table
from survey_app.reporting.dashboard.compare import ComparisonPage, comparison_page
from survey_app.reporting.dashboard.kiosk import KioskMonitor, desk_status, kiosk_monitor
from survey_app.reporting.dashboard.overview import Overview
from survey_app.reporting.dashboard.overview import overview as overview_page
from survey_app.reporting.dashboard.ranking import RankingPage, flag_text, ranking_page
from survey_app.reporting.dashboard.scope import ScopeError, scope_tops
from survey_app.reporting.dashboard.unit import UnitPage, unit_page

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.errorhandler(ScopeError)
def scope_error(error: ScopeError) -> tuple[Response | str, int]:
    return handle_http_error(Forbidden() if error.status == 403 else NotFound())


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def _overview() -> Overview:
    return overview_page(
        current_user, _arg("unit"), request.args.getlist("units"), _arg("kind"), current_lang()
    )


def _unit_page(code: str) -> UnitPage:
    return unit_page(
        current_user, code, _arg("wave"), _arg("field"), _arg("channel"), current_lang()
    )


def _ranking() -> RankingPage:
    return ranking_page(
        current_user, _arg("unit"), _arg("wave"), _arg("group"), _arg("index"), current_lang()
    )


def _comparison() -> ComparisonPage:
    return comparison_page(
        current_user,
        _arg("mode"),
        _arg("unit_a"),
        _arg("unit_b"),
        _arg("wave_a"),
        _arg("wave_b"),
        _arg("index"),
        current_lang(),
    )


def _kiosk() -> KioskMonitor:
    return kiosk_monitor(current_user, _arg("unit"))


@bp.get("/")
@role_required(*READERS)
def overview() -> str:
    if not scope_tops(current_user):
        return render_template("dashboard/empty.html")
    page = _overview()
    return render_template(
        "dashboard/overview.html",
        page=page,
        chart=trend_chart(page.series, current_lang()) if page.series else None,
        collected=collection_table(current_user),
        views=views,
    )


@bp.get("/unit/<code>")
@role_required(*READERS)
def unit(code: str) -> str:
    return render_template("dashboard/unit.html", page=_unit_page(code), views=views)


@bp.get("/ranking")
@role_required(*READERS)
def ranking() -> str:
    page = _ranking()
    kind, chart = ranking_chart(page, current_lang()) if page.result is not None else ("", None)
    return render_template(
        "dashboard/ranking.html",
        page=page,
        chart=chart,
        chart_kind=kind,
        views=views,
        flag_text=flag_text,
    )


@bp.get("/compare")
@role_required(*READERS)
def compare() -> str:
    return render_template("dashboard/compare.html", page=_comparison(), views=views)


@bp.get("/kiosk")
@role_required(*READERS)
def kiosk() -> str:
    page = _kiosk()
    volume, rate = kiosk_charts(page, current_lang())
    return render_template(
        "dashboard/kiosk.html",
        page=page,
        volume_chart=volume,
        rate_chart=rate,
        views=views,
        desk_status=desk_status,
    )


TABLES: dict[str, Callable[[], tables.Table]] = {
    "overview": lambda: _overview().table(current_lang()),
    "unit": lambda: _unit_page(request.args.get("unit", "")).table(current_lang()),
    "ranking": lambda: _ranking().table(current_lang()),
    "compare": lambda: _comparison().table(current_lang()),
    "kiosk": lambda: _kiosk().table(current_lang()),
}
FORMATS = {
    "csv": (tables.to_csv, tables.CSV_MIMETYPE),
    "xlsx": (tables.to_xlsx, tables.XLSX_MIMETYPE),
}


@bp.get("/download/<page>.<fmt>")
@role_required(*READERS)
def download(page: str, fmt: str) -> Response:
    """A page's table as CSV or XLSX, for the same query string (and the same scope)."""
    if page not in TABLES or fmt not in FORMATS:
        abort(404)
    if page == "overview" and not scope_tops(current_user):
        abort(404)
    table = TABLES[page]()
    convert, mimetype = FORMATS[fmt]
    response = Response(convert(table), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{table.name}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
