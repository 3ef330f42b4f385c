"""Load test of the submission API under gunicorn: throughput, latency, nothing lost.

Starts the app under gunicorn on a loopback port, on a fresh SQLite file and on a
fresh PostgreSQL database (a throwaway server started here, or ``--pg-url``), seeds
one desk with a device token per simulated kiosk, and lets N kiosks (default 50, all
at once) submit ``kiosk_quick`` responses to ``POST /api/v1/responses`` for a bounded
time and count. Like a real kiosk's offline queue:

- 10 % of the acknowledged responses are sent again with the same id (a retry whose
  first reply was lost): the answer must be 200 "repeated";
- some requests are cut: the kiosk writes the whole request and closes the socket
  without reading the reply; it then resends the same response until acknowledged.

It reports accepted (201) responses per second and the latency percentiles of every
acknowledged request, measures ``GET /healthz`` on the same server with the same
concurrency as the ceiling, reports where the CPU went while the kiosks submitted
(cores busy and CPU ms per accepted response for gunicorn's processes, the throwaway
PostgreSQL server's processes and this client, from ``/proc``), and checks the
database: the stored count equals the
number of distinct acknowledged ids, none is stored twice, none is lost, and every
stored response has its answer rows.

Kiosk rate limit: the default ``RATELIMIT_SUBMIT_KIOSK`` (30 per minute per device)
would turn this into a test of the limiter, so the server is started with
``RATELIMIT_SUBMIT_KIOSK="1000000 per minute"``; the limiter still counts every
request (its cost is measured), it just never refuses. ``BURST_COUNT`` stays at its
default, so bursts of identical answers are still looked for (and flagged).

    .venv/bin/python benchmarks/load_submit.py                 # both databases
    .venv/bin/python benchmarks/load_submit.py --db postgresql --kiosks 50 --duration 20

Loopback only; every run is bounded by ``--duration`` and ``--max-requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
KIOSK_LIMIT = "1000000 per minute"
#: Root processes whose CPU time is measured: gunicorn's master, the throwaway
#: PostgreSQL server's postmaster (with every process below them).
SERVER_PIDS: dict[str, int] = {}

sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    if not found:
        sys.exit("PostgreSQL server binaries not found (apt-get install postgresql)")
    return found[-1]


@contextmanager
def throwaway_postgresql(fsync: bool) -> Iterator[str]:
    """A PostgreSQL server on a free loopback port (as scripts/pg.sh does)."""
    bin_dir = pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="survey-load-pg."))
    (folder / "data").mkdir()
    (folder / "sock").mkdir()
    port = free_port()
    run: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for sub in ("data", "sock"):
            shutil.chown(folder / sub, "postgres", "postgres")
        run = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run,
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {folder / 'sock'} -c listen_addresses={HOST} -c max_connections=200"
    if not fsync:
        options += " -c fsync=off"
    ctl = [*run, str(bin_dir / "pg_ctl"), "-D", str(folder / "data")]
    subprocess.run(
        [*ctl, "-w", "-l", str(folder / "server.log"), "-o", options, "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        pid_file = (folder / "data" / "postmaster.pid").read_text().split()
        SERVER_PIDS["postgresql"] = int(pid_file[0])
        yield f"postgresql+psycopg://postgres@{HOST}:{port}/postgres"
    finally:
        SERVER_PIDS.pop("postgresql", None)
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def pg_admin(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def database(kind: str, work: Path, args: argparse.Namespace) -> Iterator[str]:
    """A fresh, empty database URL of the given kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{work / 'load.sqlite3'}"
        return
    from sqlalchemy.engine import make_url

    name = f"survey_load_{os.getpid()}"
    with throwaway_postgresql(args.pg_fsync) if not args.pg_url else _given(args.pg_url) as admin:
        pg_admin(admin, f"DROP DATABASE IF EXISTS {name}")
        pg_admin(admin, f"CREATE DATABASE {name}")
        try:
            yield make_url(admin).set(database=name).render_as_string(hide_password=False)
        finally:
            pg_admin(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def server_environment(database_url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SURVEY_INSTANCE_PATH=str(instance),
        SECRET_KEY="load-test-secret-not-for-production",
        RATELIMIT_SUBMIT_KIOSK=KIOSK_LIMIT,
        FLASK_APP="survey_app",
        PYTHONPATH=str(ROOT),
    )
    return env


def seed(env: dict[str, str], desks: int) -> dict[str, str]:
    """Migrate, load the questionnaires, create one unit and ``desks`` desks with tokens."""
    subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([str(VENV_BIN / "flask"), "questionnaires", "load"], env=env, check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
    code = (
        "import json, sys\n"
        "from survey_app import create_app\n"
        "from survey_app.extensions import db\n"
        "from survey_app.admin import units\n"
        "from survey_app.collection import desks\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    units.import_units([{'code': 'LT', 'name_vi': 'Xã thử tải', "
        "'name_en': 'Load-test commune', 'kind': 'commune', 'parent_code': ''}])\n"
        "    tokens = {}\n"
        f"    for i in range({desks}):\n"
        "        desks.create_desk(f'LT-{i:03d}', 'LT', f'Quầy {i}')\n"
        "        tokens[f'LT-{i:03d}'] = desks.issue_token(f'LT-{i:03d}')\n"
        "    db.session.remove()\n"
        "json.dump(tokens, sys.stdout)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT,
                         capture_output=True, text=True)  # fmt: skip
    return dict(json.loads(out.stdout))


@contextmanager
def gunicorn(env: dict[str, str], args: argparse.Namespace, log: Path) -> Iterator[str]:
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        "--bind", f"{HOST}:{port}",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads),
        "--backlog", "2048",
        "--keep-alive", "5",
        "--preload",  # import the app once, then fork the workers
        "survey_app:create_app()",
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=handle)
        base = f"http://{HOST}:{port}"
        SERVER_PIDS["gunicorn"] = process.pid
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"gunicorn did not start; see {log}")
                time.sleep(0.2)
            # Every worker imports the app lazily: warm them all up before measuring.
            for _ in range(args.workers * 10):
                urllib.request.urlopen(base + "/healthz", timeout=5).close()
            yield base
        finally:
            SERVER_PIDS.pop("gunicorn", None)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------------------
# The kiosks
# ---------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    created: int = 0
    repeated_ok: int = 0
    repeat_sent: int = 0
    cut: int = 0
    errors: int = 0
    sent: int = 0


def make_payload(desk: str, rng: random.Random) -> dict[str, Any]:
    mood = rng.choices((1, 2, 3, 4, 5), weights=(5, 8, 17, 35, 35))[0]
    answers: dict[str, Any] = {"mood": mood}
    options = (
        ["nhanh", "tan_tinh", "huong_dan", "dung_hen"]
        if mood >= 4
        else ["cho_lau", "thai_do", "huong_dan", "tre_hen"]
    )
    if rng.random() < 0.6:
        answers["positives" if mood >= 4 else "problems"] = rng.sample(options, rng.randint(1, 2))
    if rng.random() < 0.3:
        for item in ("fu_wait", "fu_staff", "fu_guidance"):
            answers[item] = rng.randint(1, 5)
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "desk": desk,
        "questionnaire": {"slug": "kiosk_quick", "version": 1},
        "answers": answers,
        "channel": "kiosk",
        "lang": rng.choice(("vi", "vi", "vi", "en")),
        "started_at": (now - timedelta(seconds=rng.randint(10, 50))).isoformat(),
        "submitted_at": now.isoformat(),
    }


async def cut_request(base: str, path: str, body: bytes, token: str) -> None:
    """Write a whole request, then close the socket without reading the reply."""
    host, port = base.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("ascii") + body)
    await writer.drain()
    writer.transport.abort()  # RST, not a polite FIN: the reply is never read


async def kiosk(
    session: Any, base: str, desk: str, token: str, tally: Tally, args: argparse.Namespace,
    stop_at: float, budget: list[int], seed: int,
) -> None:  # fmt: skip
    import aiohttp

    rng = random.Random(seed)
    url = base + "/api/v1/responses"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        payload = make_payload(desk, rng)
        body = json.dumps(payload).encode()
        if rng.random() < args.cut:
            tally.cut += 1
            with suppress(OSError):
                await cut_request(base, "/api/v1/responses", body, token)
        sends = 2 if rng.random() < args.resend else 1
        for attempt in range(sends):
            while True:  # resend until acknowledged, as the kiosk's queue does
                started = time.perf_counter()
                tally.sent += 1
                try:
                    async with session.post(url, data=body, headers=headers) as reply:
                        await reply.read()
                        status = reply.status
                except (TimeoutError, aiohttp.ClientError):
                    tally.errors += 1
                    await asyncio.sleep(0.05)
                    continue
                elapsed = time.perf_counter() - started
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
                if status in (200, 201):
                    tally.latencies.append(elapsed)
                    tally.acknowledged.add(payload["id"])
                    if status == 201:
                        tally.created += 1
                    if attempt == 1:
                        tally.repeat_sent += 1
                        tally.repeated_ok += status == 200
                    break
                if status in (429, 500, 502, 503, 504):
                    await asyncio.sleep(0.05)
                    continue
                print(f"unexpected {status}: {await reply.text()}", file=sys.stderr)
                break


async def run_kiosks(
    base: str, tokens: dict[str, str], args: argparse.Namespace
) -> tuple[Tally, float]:
    import aiohttp

    tally = Tally()
    budget = [args.max_requests]
    connector = aiohttp.TCPConnector(limit=args.kiosks, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    desks = sorted(tokens)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        stop_at = time.monotonic() + args.duration
        await asyncio.gather(
            *(
                kiosk(session, base, desks[i % len(desks)], tokens[desks[i % len(desks)]],
                      tally, args, stop_at, budget, args.seed + i)
                for i in range(args.kiosks)
            )
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    return tally, elapsed


async def run_ceiling(base: str, args: argparse.Namespace) -> tuple[int, float, list[float]]:
    import aiohttp

    latencies: list[float] = []
    done = [0]
    connector = aiohttp.TCPConnector(limit=args.kiosks)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop_at = time.monotonic() + args.ceiling_duration

        async def loop() -> None:
            while time.monotonic() < stop_at and done[0] < args.max_requests:
                started = time.perf_counter()
                async with session.get(base + "/healthz") as reply:
                    await reply.read()
                if reply.status == 200:
                    done[0] += 1
                    latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(args.kiosks)))
        elapsed = time.perf_counter() - started
    return done[0], elapsed, latencies


# ---------------------------------------------------------------------------
# CPU time (Linux /proc): where the two cores went
# ---------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    return tree


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by one process; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each measured server (process tree) and this client."""
    used = {
        name: sum(process_cpu(pid) for pid in _process_tree(root))
        for name, root in SERVER_PIDS.items()
    }
    times = os.times()
    used["client"] = times.user + times.system
    return used


# ---------------------------------------------------------------------------
# The check and the report
# ---------------------------------------------------------------------------


def check_database(database_url: str, acknowledged: set[str]) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    from survey_app.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT client_id FROM responses")).scalars().all()
            without_answers = connection.execute(
                text(
                    "SELECT count(*) FROM responses r WHERE NOT EXISTS "
                    "(SELECT 1 FROM answer_values a WHERE a.response_id = r.id)"
                )
            ).scalar_one()
            flagged = connection.execute(
                text("SELECT count(*) FROM responses WHERE flagged")
            ).scalar_one()
            # PostgreSQL's submission inbox: acknowledged rows not moved yet count as lost
            waiting = 0
            if (
                connection.dialect.name == "postgresql"
                and connection.execute(text("SELECT to_regclass('response_inbox')")).scalar()
            ):
                waiting = connection.execute(
                    text("SELECT count(*) FROM response_inbox")
                ).scalar_one()
    finally:
        engine.dispose()
    stored = [str(uuid.UUID(str(value))) for value in rows]
    distinct = set(stored)
    return {
        "stored": len(stored),
        "distinct_acknowledged": len(acknowledged),
        "duplicates": len(stored) - len(distinct),
        "lost": len(acknowledged - distinct),
        "unacknowledged_stored": len(distinct - acknowledged),
        "without_answers": int(without_answers),
        "flagged_burst": int(flagged),
        "still_in_inbox": int(waiting),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f}"


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"survey-load-{kind}."))
    instance = work / "instance"
    instance.mkdir()
    try:
        with database(kind, work, args) as url:
            env = server_environment(url, instance)
            tokens = seed(env, args.kiosks)
            with gunicorn(env, args, work / "gunicorn.log") as base:
                cpu_before = cpu_seconds()
                tally, elapsed = asyncio.run(run_kiosks(base, tokens, args))
                cpu_after = cpu_seconds()
                hello, hello_elapsed, hello_latencies = asyncio.run(run_ceiling(base, args))
                cpu_hello = cpu_seconds()
            check = check_database(url, tally.acknowledged)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    accepted_rate = tally.created / elapsed
    ceiling_rate = hello / hello_elapsed
    return {
        "database": kind,
        "elapsed_s": round(elapsed, 2),
        "requests_sent": tally.sent,
        "statuses": dict(sorted(tally.statuses.items())),
        "accepted": tally.created,
        "accepted_per_s": round(accepted_rate, 1),
        "acknowledged_per_s": round(len(tally.latencies) / elapsed, 1),
        "p50_ms": ms(tally.latencies, 50),
        "p95_ms": ms(tally.latencies, 95),
        "p99_ms": ms(tally.latencies, 99),
        "mean_ms": f"{statistics.fmean(tally.latencies) * 1000:.1f}" if tally.latencies else "-",
        "resent_same_id": tally.repeat_sent,
        "resent_answered_200": tally.repeated_ok,
        "cut_connections": tally.cut,
        "client_errors": tally.errors,
        "ceiling_healthz_per_s": round(ceiling_rate, 1),
        "ceiling_p50_ms": ms(hello_latencies, 50),
        "ceiling_p99_ms": ms(hello_latencies, 99),
        "ratio_to_ceiling": round(accepted_rate / ceiling_rate, 3) if ceiling_rate else None,
        "ceiling_cpu_ms_per_request_gunicorn": round(
            1000 * (cpu_hello["gunicorn"] - cpu_after["gunicorn"]) / max(hello, 1), 2
        ),
        "ceiling_cpu_ms_per_request_client": round(
            1000 * (cpu_hello["client"] - cpu_after["client"]) / max(hello, 1), 2
        ),
        # Cores busy while the kiosks submitted, and CPU ms per accepted response.
        **{
            f"cpu_cores_{name}": round((cpu_after[name] - cpu_before[name]) / elapsed, 2)
            for name in cpu_after
            if name in cpu_before
        },
        **{
            f"cpu_ms_per_accepted_{name}": round(
                1000 * (cpu_after[name] - cpu_before[name]) / max(tally.created, 1), 2
            )
            for name in cpu_after
            if name in cpu_before
        },
        **check,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--kiosks", type=int, default=50, help="concurrent kiosks (desks)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of submitting")
    parser.add_argument("--max-requests", type=int, default=50_000, help="responses at most")
    parser.add_argument("--resend", type=float, default=0.10, help="share re-sent, same id")
    parser.add_argument("--cut", type=float, default=0.02, help="share cut before the reply")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--ceiling-duration", type=float, default=8.0)
    parser.add_argument("--pg-url", default="", help="admin URL of a server to use instead")
    parser.add_argument(
        "--pg-fsync", action=argparse.BooleanOptionalAction, default=True,
        help="run the throwaway PostgreSQL with fsync (default on: acknowledged = durable)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.kiosks <= 1000 or not 0 < args.duration <= 600:
        parser.error("--kiosks must be 1..1000 and --duration 0..600 s")

    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(
        f"# {args.kiosks} kiosks, {args.duration:g} s (at most {args.max_requests} responses), "
        f"gunicorn {args.workers} x {args.worker_class}"
        f"{f' ({args.threads} threads)' if args.worker_class == 'gthread' else ''}, "
        f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    ok = True
    for kind in kinds:
        result = run_one(kind, args)
        result["load_average_after"] = round(os.getloadavg()[0], 2)
        results.append(result)
        ok &= result["lost"] == 0 and result["duplicates"] == 0
        ok &= result["stored"] == result["distinct_acknowledged"]
        if not args.json:
            print(f"\n## {kind}")
            for key, value in result.items():
                print(f"  {key:24s} {value}")
    if args.json:
        print(json.dumps(results, indent=2))
    print("\nnothing lost, nothing doubled" if ok else "\nFAILED: lost or doubled responses")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
