"""Benchmark: the leaders' pages through HTTP at scale, from the figure store and raw.

Loads N simulated SIPAS responses (``bench_indices.simulate``: 4 field waves, 60 strata
x 50 PSUs, 25 coded answers each) into PostgreSQL (a throwaway server started here;
default 10,000,000) and SQLite (default 1,000,000), on a unit tree province P > 10
districts D0..D9 > 50 communes C00..C49 (the responses belong to the communes), with a
leader account at P. Then, per database:

1. ``figures rebuild`` (timed): the sums of every wave from the rows;
2. ``figures verify`` (timed): every figure from the store against the rows (1e-12);
3. gunicorn (2 sync workers) serves the app; a logged-in leader times the overview,
   drill-down, ranking, compare page, scorecard and ``/api/v1/indices`` for P, D0 and
   C00: "cold" is each URL's first request after the server started (one sample),
   "warm" is p50 / p95 over ``--requests`` more;
4. the same server with ``FIGURE_STORE=false`` (today's recomputation from the rows):
   ``/api/v1/indices`` and the overview for P and C00, ``--raw-requests`` each, and the
   ratio raw / store;
5. visibility: one response stored (as an acknowledged submission is), then the API
   read at once; it counts without a fold (pages add the unfolded rows), and the fold
   lag (``figures refresh`` of the pending rows) is timed.

Loading bypasses the service layer as in ``bench_indices.py`` (COPY on PostgreSQL with
``response_keys`` and ``figure_queue`` filled alongside, since the triggers are off during
COPY; executemany on SQLite). Not part of the test suite.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_pages.py --n-sqlite 50000 --n-postgresql 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_indices as bi  # noqa: E402
from load_submit import free_port  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

N_DISTRICTS, COMMUNES_PER_DISTRICT = 10, 5
PASSWORD = "bench-leader-password"
VENV_BIN = ROOT / ".venv" / "bin"
WAVE, EARLIER = "B2024", "B2023"


def reference_rows() -> dict[str, Any]:
    """Questionnaire, the unit tree, the waves and the leader; returns their ids."""
    from survey_app.admin import accounts
    from survey_app.models import Role

    rows = [{"code": "P", "name_vi": "Tỉnh", "name_en": "Province", "kind": "province",
             "parent_code": ""}]  # fmt: skip
    for d in range(N_DISTRICTS):
        rows.append({"code": f"D{d}", "name_vi": f"Huyện {d}", "name_en": f"District {d}",
                     "kind": "district", "parent_code": "P"})  # fmt: skip
        for c in range(COMMUNES_PER_DISTRICT):
            k = d * COMMUNES_PER_DISTRICT + c
            rows.append({"code": f"C{k:02d}", "name_vi": f"Xã {k}", "name_en": f"Commune {k}",
                         "kind": "commune", "parent_code": f"D{d}"})  # fmt: skip
    communes = [f"C{k:02d}" for k in range(N_DISTRICTS * COMMUNES_PER_DISTRICT)]
    refs = bi.reference_rows(rows, communes)
    accounts.create_user("leader", PASSWORD, Role.LEADER, "P")
    return refs


def disk_size(url: str, engine: Any) -> int:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar())


# --- serving and timing ----------------------------------------------------------------------


@contextmanager
def serve(url: str, instance: Path, store: bool, log: Path) -> Iterator[str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=url, SURVEY_INSTANCE_PATH=str(instance), PYTHONPATH=str(ROOT),
               SECRET_KEY="bench-pages-secret", FIGURE_STORE="true" if store else "false",
               RATELIMIT_LOGIN="1000 per minute",
               RATELIMIT_LOGIN_ADDRESS="1000 per minute")  # fmt: skip
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--timeout", "900", "survey_app:create_app()"]  # fmt: skip
    with log.open("ab") as handle:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=handle)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.terminate()
                sys.exit("gunicorn did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def leader_session(base: str) -> requests.Session:
    import re

    session = requests.Session()
    page = session.get(base + "/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    reply = session.post(base + "/auth/login", data={"csrf_token": token.group(1),
                         "username": "leader", "password": PASSWORD})  # fmt: skip
    if "session" not in session.cookies or reply.status_code >= 400:
        raise SystemExit(f"leader login failed: {reply.status_code}")
    return session


def pages(unit: str) -> dict[str, str]:
    return {
        "overview": f"/dashboard/?unit={unit}",
        "drill-down": f"/dashboard/unit/{unit}?wave={WAVE}",
        "ranking": f"/dashboard/ranking?unit={unit}&wave={WAVE}",
        "compare": f"/dashboard/compare?mode=waves&unit_a={unit}&wave_a={EARLIER}&wave_b={WAVE}",
        "scorecard": f"/scorecard/{unit}/{WAVE}",
        "api": f"/api/v1/indices?unit={unit}&wave={WAVE}",
    }


def timed(session: requests.Session, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    reply = session.get(url, timeout=900)
    return time.perf_counter() - t0, reply.status_code


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def measure_pages(base: str, n_requests: int) -> list[dict[str, Any]]:
    session = leader_session(base)
    out = []
    urls = [(unit, name, path) for unit in ("P", "D0", "C00") for name, path in pages(unit).items()]
    cold = {}
    for unit, name, path in urls:  # the first request of each URL since the server started
        cold[(unit, name)] = timed(session, base + path)
    for unit, name, path in urls:
        warm = [timed(session, base + path) for _ in range(n_requests)]
        seconds = [s for s, _ in warm]
        statuses = sorted({c for _, c in warm} | {cold[(unit, name)][1]})
        out.append({"unit": unit, "page": name, "cold": cold[(unit, name)][0],
                    "p50": statistics.median(seconds), "p95": p95(seconds),
                    "status": statuses})  # fmt: skip
    return out


def measure_raw(
    base: str, n_requests: int, units: list[str], names: list[str]
) -> list[dict[str, Any]]:
    session = leader_session(base)
    out = []
    for unit in units:
        for name in names:
            path = pages(unit)[name]
            runs = [timed(session, base + path) for _ in range(n_requests)]
            seconds = [s for s, _ in runs]
            out.append({"unit": unit, "page": name, "p50": statistics.median(seconds),
                        "p95": p95(seconds), "status": sorted({c for _, c in runs})})  # fmt: skip
    return out


def visibility(app: Any, base: str, refs: dict[str, Any]) -> dict[str, float]:
    """Store one response as the API does, read the commune's n at once; time the fold."""
    from survey_app.collection import responses
    from survey_app.extensions import db
    from survey_app.models import Channel, Unit
    from survey_app.reporting import figure_store

    session = leader_session(base)
    url = base + pages("C00")["api"]

    def overall_n() -> int:
        table = session.get(url, timeout=900).json()
        return max(int(row.get("n", 0)) for row in table["figures"] if row["unit"] == "C00")

    before = overall_n()
    with app.app_context():
        wave_id = int(refs["wave_ids"][-1])
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "C00"))
        answers = {c: 5 for c in refs["criteria"]} | {
            "overall": 5,
            "field": "dat_dai",
            "gave_feedback": "yes",
        }
        draft = responses.ResponseDraft(
            client_id=uuid.uuid4(), questionnaire_id=refs["questionnaire_id"], unit_id=unit_id,
            channel=Channel.FIELD, answers=answers, wave_id=wave_id, stratum="H00", psu="D0000",
            design_weight=30.0, submitted_at=datetime(2024, 5, 15, 8, tzinfo=UTC))  # fmt: skip
        t0 = time.perf_counter()
        assert responses.store(draft) == responses.StoreOutcome.CREATED
        acknowledged = time.perf_counter()
        after = overall_n()
        seen = time.perf_counter()
        folded = figure_store.refresh()
        fold = time.perf_counter() - seen
        db.session.remove()
    return {"store": acknowledged - t0, "visible_after": seen - acknowledged,
            "n_before": before, "n_after": after, "fold": fold, "folded": folded}  # fmt: skip


# --- one database ----------------------------------------------------------------------------


def run_database(name: str, url: str, folder: Path, n: int, args: argparse.Namespace) -> dict:
    from survey_app.extensions import db
    from survey_app.reporting import figure_store

    instance = folder / name
    instance.mkdir(exist_ok=True)
    app = bi.make_app(url, instance)
    out: dict[str, Any] = {"n": n}
    with app.app_context():
        if args.loaded:  # an earlier run's database (--pg-url): time its pages again
            out["n"] = db.session.execute(text("SELECT count(*) FROM responses")).scalar()
        else:
            data = bi.simulate(n, args.seed, n_criteria=23)
            refs = reference_rows()
            t0 = time.perf_counter()
            if name == "sqlite":
                db.engine.dispose()
                bi.load_sqlite(Path(url.removeprefix("sqlite:///")), data, refs)
            else:
                bi.load_postgres(db.engine, data, refs)
            out["load"] = time.perf_counter() - t0
            progress(f"{name}: loaded {n:,} responses in {out['load']:.1f} s")
            t0 = time.perf_counter()
            out["folded"] = figure_store.rebuild()
            out["rebuild"] = time.perf_counter() - t0
            progress(f"{name}: rebuild {out['rebuild']:.1f} s ({out['folded']:,} folded)")
        out["disk"] = disk_size(url, db.engine)
        if not args.skip_verify:
            t0 = time.perf_counter()
            compared, mismatches = figure_store.verify()
            out["verify"] = time.perf_counter() - t0
            out["compared"], out["mismatches"] = compared, len(mismatches)
            progress(f"{name}: verify {out['verify']:.1f} s, {compared:,} figures, "
                     f"{len(mismatches)} differences")  # fmt: skip
        db.session.remove()
        db.engine.dispose()
    log = folder / f"{name}-gunicorn.log"
    with serve(url, instance, store=True, log=log) as base:
        out["pages"] = measure_pages(base, args.requests)
        for p in out["pages"]:
            progress(f"{name}: {p['unit']} {p['page']}: cold {1000 * p['cold']:.0f} ms, "
                     f"p50 {1000 * p['p50']:.0f} ms, p95 {1000 * p['p95']:.0f} ms")  # fmt: skip
        if not args.loaded:
            out["visibility"] = visibility(app, base, refs)
    out["raw"] = []
    if args.raw_requests > 0:
        with serve(url, instance, store=False, log=log) as base:
            out["raw"] = measure_raw(
                base, args.raw_requests, args.raw_units.split(","), args.raw_pages.split(",")
            )
    return out


def progress(message: str) -> None:
    """A line on the way (a long run's phases, in case it is stopped before the end)."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def report(name: str, r: dict[str, Any]) -> None:
    built = (f"load {r['load']:.1f} s; rebuild {r['rebuild']:.1f} s ({r['folded']:,} folded)"
             if "load" in r else "loaded and rebuilt by an earlier run")  # fmt: skip
    print(f"\n## {name}: {r['n']:,} responses; {built}; disk {r['disk'] / 2**30:.2f} GiB")
    if "verify" in r:
        print(f"verify: {r['compared']:,} figures compared in {r['verify']:.1f} s, "
              f"{r['mismatches']} differences (tolerance 1e-12)")  # fmt: skip
    print("\n| unit | page | cold ms | warm p50 ms | warm p95 ms | HTTP |")
    print("| --- | --- | --- | --- | --- | --- |")
    for p in r["pages"]:
        print(f"| {p['unit']} | {p['page']} | {1000 * p['cold']:.0f} | {1000 * p['p50']:.0f} | "
              f"{1000 * p['p95']:.0f} | {','.join(map(str, p['status']))} |")  # fmt: skip
    store = {(p["unit"], p["page"]): p for p in r["pages"]}
    print("\n| unit | page | raw p50 ms | raw p95 ms | store p50 ms | ratio p50 | HTTP |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for p in r["raw"]:
        s = store[(p["unit"], p["page"])]
        print(f"| {p['unit']} | {p['page']} | {1000 * p['p50']:.0f} | {1000 * p['p95']:.0f} | "
              f"{1000 * s['p50']:.0f} | {p['p50'] / s['p50']:.0f}x | "
              f"{','.join(map(str, p['status']))} |")  # fmt: skip
    v = r.get("visibility")
    if v is None:
        return
    print(f"\nvisibility: stored in {1000 * v['store']:.0f} ms; the API showed it "
          f"{1000 * v['visible_after']:.0f} ms later (n {v['n_before']} -> {v['n_after']}, "
          f"before any fold); fold of {v['folded']} pending response(s): "
          f"{1000 * v['fold']:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-sqlite", type=int, default=1_000_000)
    parser.add_argument("--n-postgresql", type=int, default=10_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=50, help="warm requests per URL")
    parser.add_argument(
        "--raw-requests", type=int, default=5, help="raw requests per URL (0: none)"
    )
    parser.add_argument("--raw-units", default="P,C00", help="units timed raw")
    parser.add_argument("--raw-pages", default="api,overview", help="pages timed raw")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--pg-url", default="", help="use this PostgreSQL server instead")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument(
        "--loaded",
        action="store_true",
        help="with --pg-url: the database holds an earlier run's data; time its pages "
        "again (no load, rebuild or visibility)",
    )
    args = parser.parse_args()
    if args.loaded and (not args.pg_url or args.databases != "postgresql"):
        parser.error("--loaded times a database an earlier run filled: it needs --pg-url "
                     "and --databases postgresql")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-pages.") as temporary:
        folder = Path(temporary)
        for name in args.databases.split(","):
            if name == "sqlite":
                url = f"sqlite:///{folder / 'sqlite' / 'bench.sqlite3'}"
                (folder / "sqlite").mkdir(exist_ok=True)
                result = run_database(name, url, folder, args.n_sqlite, args)
            elif args.pg_url:
                result = run_database(name, args.pg_url, folder, args.n_postgresql, args)
            else:
                with bi.throwaway_postgres() as url:
                    result = run_database(name, url, folder, args.n_postgresql, args)
            report(name, result)
            print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
