"""The load benchmark's ceiling: one minimal insert (benchmarks/load_wrk.py).

Registered only when ``BENCHMARK_CEILING`` is set (never in production): ``POST
/bench/insert`` inserts one row into ``bench_ceiling`` (a table the benchmark creates)
on the engine that stores kiosk and phone responses, and commits. What it costs is the
floor of any submission on this server: Flask, the pool, one INSERT, one commit.
"""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy import text

from survey_app.extensions import csrf, db

bp = Blueprint("bench", __name__, url_prefix="/bench")
# As the submission API (survey_app/blueprints/api.py): without this, every request was
# refused by CSRFProtect (400, the HTML error page) and the "ceiling" stored nothing.
csrf.exempt(bp)


@bp.post("/insert")
def insert() -> tuple[str, int]:
    from survey_app.extensions import SUBMISSIONS_BIND

    engine = db.engines.get(SUBMISSIONS_BIND, db.engine)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_ceiling (client_id) VALUES (:id)"),
            {"id": request.get_data(as_text=True)[:36]},
        )
    return "", 204
