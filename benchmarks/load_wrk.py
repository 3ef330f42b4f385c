"""Submission throughput measured fairly: a C load generator (wrk) and a ceiling.

The Python load client of ``load_submit.py`` spends CPU on the same two cores as the
server; here the load comes from Debian's ``wrk`` (C, event loop) driving
``POST /api/v1/responses`` with ``benchmarks/wrk_submit.lua``: a fresh UUID per
request, one request in ten sent again with the same id and body (it must be answered
200 "repeated"). In the same run, on the same server and database, ``wrk`` drives the
ceiling: ``POST /bench/insert`` (``benchmarks/wrk_ceiling.lua``), one Flask view that
inserts one row on the pool that stores responses and commits
(``survey_app/blueprints/bench.py``, registered only with ``BENCHMARK_CEILING=1``).

Server: gunicorn with ``--workers`` sync workers (default 4) on a throwaway PostgreSQL
server (``load_submit.py``'s, fsync on unless ``--no-pg-fsync``) or on SQLite. It
prints accepted responses per second, wrk's latency percentiles, the ceiling's rate and
latency, their ratio (goal of issue 15: at least 0.70 with p99 < 100 ms at 50
connections), and the database check: lost (acknowledged but not stored) and doubled
(stored twice) must be 0.

    .venv/bin/python benchmarks/load_wrk.py                       # PostgreSQL, 50 connections
    .venv/bin/python benchmarks/load_wrk.py --db sqlite --connections 20 --duration 20
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_submit  # the servers, the seeding and the database check

HERE = Path(__file__).resolve().parent


def run_wrk(base: str, script: Path, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    command = [
        "wrk", "--threads", str(args.wrk_threads), "--connections", str(args.connections),
        "--duration", f"{args.duration}s", "--timeout", "10s", "--latency",
        "--script", str(script), base, "--", *extra,
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    out: dict[str, Any] = {"raw": proc.stdout}
    for key in ("LATENCY", "SUMMARY"):
        line = re.search(rf"^{key} (.*)$", proc.stdout, re.M)
        if line:
            out.update({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line.group(1))})
    status = re.search(r"^STATUS(.*)$", proc.stdout, re.M)
    if status:
        out["statuses"] = {int(k): int(v) for k, v in re.findall(r"(\d+)=(\d+)", status.group(1))}
    return out


def create_ceiling_table(url: str) -> None:
    from sqlalchemy import create_engine, text

    from survey_app.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    serial = "BIGSERIAL" if url.startswith("postgresql") else "INTEGER"
    with engine.begin() as connection:
        connection.execute(
            text(f"CREATE TABLE bench_ceiling (id {serial} PRIMARY KEY, client_id VARCHAR(36))")
        )
    engine.dispose()


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"survey-wrk-{kind}."))
    instance = work / "instance"
    instance.mkdir()
    acked_dir = work / "acked"
    acked_dir.mkdir()
    try:
        with load_submit.database(kind, work, args) as url:
            env = load_submit.server_environment(url, instance)
            env["BENCHMARK_CEILING"] = "1"
            tokens = load_submit.seed(env, args.desks)
            create_ceiling_table(url)
            token_file = work / "tokens.txt"
            token_file.write_text("".join(f"{d} {t}\n" for d, t in tokens.items()))
            with load_submit.gunicorn(env, args, work / "gunicorn.log") as base:
                submit = run_wrk(base, HERE / "wrk_submit.lua", args, str(token_file),
                                 str(acked_dir))  # fmt: skip
                ceiling = run_wrk(base, HERE / "wrk_ceiling.lua", args)
            acknowledged: set[str] = set()
            repeated = 0
            for path in acked_dir.glob("acked-*.txt"):
                for line in path.read_text().splitlines():
                    client_id, status = line.split()
                    acknowledged.add(client_id)
                    repeated += status == "200"
            check = load_submit.check_database(url, acknowledged)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    statuses = submit.get("statuses", {})
    accepted = statuses.get(201, 0) / submit["duration_s"]
    ceiling_rate = ceiling["requests"] / ceiling["duration_s"]
    return {
        "database": kind,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": submit["duration_s"],
        "statuses": statuses,
        "accepted_per_s": round(accepted, 1),
        "p50_ms": submit.get("p50"),
        "p95_ms": submit.get("p95"),
        "p99_ms": submit.get("p99"),
        "socket_errors": int(submit.get("errors", 0)),
        "repeated_answered_200": repeated,
        "ceiling_per_s": round(ceiling_rate, 1),
        "ceiling_p50_ms": ceiling.get("p50"),
        "ceiling_p99_ms": ceiling.get("p99"),
        "ratio_to_ceiling": round(accepted / ceiling_rate, 3) if ceiling_rate else None,
        **check,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    parser.add_argument("--desks", type=int, default=50, help="desks with a device token")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--pg-url", default="", help="admin URL of a server to use instead")
    parser.add_argument("--no-pg-fsync", dest="pg_fsync", action="store_false")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.worker_class, args.threads = "sync", 1  # gunicorn: sync workers, one thread
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = []
    for kind in kinds:
        result = run_one(kind, args)
        results.append(result)
        if not args.json:
            for key, value in result.items():
                print(f"{key:>24}: {value}")
            print()
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if all(r["lost"] == 0 and r["duplicates"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
