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
prints accepted responses per second, wrk's latency percentiles, the ceiling's rate
(its 204 answers only: anything else is reported and fails the run) and latency, their
ratio (goal of issue 15: at least 0.70 with p99 < 100 ms at 50 connections), the CPU
seconds per request of gunicorn, the PostgreSQL server and wrk in each phase, the load
average, and the database check: lost (acknowledged but not stored) and doubled
(stored twice) must be 0.

``--fold-every N`` adds, in each round, a second submission phase while the figure
store is maintained: ``flask --app survey_app figures refresh`` (the command cron runs
every minute, docs/operations.md) runs every N seconds during it, and a second ceiling
phase (``fold_*``: each such round's ceiling is measured just before its submission
phase). A round is then: submissions without folds, their ceiling, the folds' ceiling,
the waiting responses folded (not measured), submissions with folds. The two kinds of
round are interleaved so that both meet tables of the same size at the same time:
run one after the other, as until stop 45, the second half's submissions ran later, on
larger tables, and fell by as much with a fold process that never folded (0.701 to
0.663 at 50 desks) as with folds (0.696 to 0.665).
The folds wait during the other phases (``Folder.pause``; a resident process is
stopped between two folds, never inside one), so the ceiling measures the machine
without our folder and each submission phase with folds pays for its folds: the
catch-up before it leaves the folder idle, so its first fold comes one period into the
phase (with 30-s phases and N = 10, two or three folds of its own responses). Each
of these phases starts once no autovacuum worker runs (:func:`quiet`), so that none
pays for the vacuum of what an earlier phase or the catch-up left. It
prints the throughputs and their ratio to the ceiling measured in the same rounds, the
folds (count, seconds, CPU; the catch-ups included), the resident process's CPU
during the phases with folds, the age of the oldest acknowledged response not folded
yet when the load stops, how long after the load stopped every acknowledged response
was folded (one more refresh), and ``figures verify`` (the store against the rows). A
response counts in the figures as soon as it is stored either way: pages add the
unfolded rows (survey_app/reporting/figure_store.py). With ``--resident`` the folds
come from one ``figures refresh --every N`` process (the resident form,
docs/operations.md) instead of a process started per fold. It starts before the
rounds and they begin once it has folded the earlier responses and is idle, as a
service started long before.

``--warmup SECONDS`` first drives both endpoints for that long, unmeasured: a worker's
first response of each desk and day goes the general way (it finds the desk's context,
then remembers it), and a 20-s phase that starts cold counts those 200 slow requests
(4 workers x 50 desks) in its throughput and its p99. On PostgreSQL the tables are
then settled (``VACUUM ANALYZE``, ``CHECKPOINT``: :func:`settle`), so that the
measurement sees tables with planner statistics, as in service; ``--no-settle``
measures a new database's first minute instead.

``--rounds N`` alternates the submission and ceiling phases N times: the figures are
the totals (each latency percentile the worst round's), with each round's ratio and
their median, since this VM's speed drifts within a minute. On PostgreSQL each kind of
phase also prints the WAL it wrote per request (``wal_per_request``: kB and full-page
images, from ``pg_stat_wal``) and the checkpoints that began during it, and each round
its submission phase's checkpoints (``round_checkpoints``): a page's first change after
a checkpoint writes the whole page to the WAL, so a phase that meets one pays more.
``--checkpoint-each-phase`` runs a ``CHECKPOINT`` before every measured phase, so that
each kind of phase starts in the same state (by default the server's checkpoints fall
where they fall: every 5 minutes, in some phase or other).

``--bracket`` puts a ceiling phase before and after every submission phase (neighbours
share one: with ``--fold-every``, a round is submissions, ceiling, catch-up, submissions
with folds, ceiling), and each round's ratio is against the geometric mean of its two
ceilings: a drift of the machine's speed that is steady over the three phases cancels
out, where a ratio against one neighbouring ceiling carries it. The fold lag is then
measured from the folder itself (it folds everything before the last ceiling phase).

``--inbox`` starts the server with ``SUBMISSION_INBOX=1`` (docs/operations.md): a
submission on the single-statement path is acknowledged from one row of
``response_inbox``, and the resident folder moves the inbox into ``responses`` every
second between its folds. The phases without folds then measure the acknowledgement
alone (the rows wait until the catch-up); the phases with folds (``--fold-every``)
pay for the moves and the folds, which is the goal's figure ("with the summary tables
being maintained"). The responses still in the inbox count as not folded (the fold
lag) and, after the run, as lost.

    .venv/bin/python benchmarks/load_wrk.py                       # PostgreSQL, 50 connections
    .venv/bin/python benchmarks/load_wrk.py --fold-every 10 --resident --inbox --bracket
    .venv/bin/python benchmarks/load_wrk.py --fold-every 10       # with the figure store kept
    .venv/bin/python benchmarks/load_wrk.py --fold-every 10 --resident --duration 30
    .venv/bin/python benchmarks/load_wrk.py --warmup 10 --past-waves 120
    .venv/bin/python benchmarks/load_wrk.py --warmup 5 --duration 10 --rounds 5
    .venv/bin/python benchmarks/load_wrk.py --warmup 5 --duration 30 --rounds 3 \
        --fold-every 10 --resident --bracket
    .venv/bin/python benchmarks/load_wrk.py --connections 8 --duration 20
    .venv/bin/python benchmarks/load_wrk.py --db sqlite --connections 20 --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_submit  # the servers, the seeding and the database check

HERE = Path(__file__).resolve().parent
#: The resident fold's PostgreSQL application name (``PGAPPNAME``), so that a pause can
#: tell whether it is inside a fold (:func:`fold_in_transaction`).
FOLD_APP = "survey-figure-fold"
#: The resident fold's PostgreSQL backends (process ids), while it runs.
FOLD_BACKENDS: list[int] = []
#: The wrk scripts: kiosk submissions, and the ceiling's minimal insert.
SUBMIT, CEILING = HERE / "wrk_submit.lua", HERE / "wrk_ceiling.lua"
#: The benchmark's PostgreSQL database, for its WAL counters (:func:`wal_counters`).
WAL_URL: list[str] = []


def machine_seconds() -> dict[str, float]:
    """The machine's CPU seconds so far (all cores, Linux ``/proc/stat``): busy (user,
    system, interrupts, stolen), idle, and idle waiting for I/O."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq + steal
    return {"busy": busy / tick, "idle": idle / tick, "iowait": iowait / tick}


#: PostgreSQL's own processes (not a client's backend), by their title.
BACKGROUND = re.compile(r"postgres: (\S+ )?(walwriter|checkpointer|background writer|autovacuum)")


def postgresql_background_seconds() -> float:
    """CPU seconds so far of the PostgreSQL server's background processes that live
    through a phase: the WAL writer, the checkpointer, the background writer and the
    autovacuum launcher (and any autovacuum worker alive at that moment)."""
    root = load_submit.SERVER_PIDS.get("postgresql")
    if root is None:
        return 0.0
    total = 0.0
    for pid in load_submit._process_tree(root):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if BACKGROUND.match(title):
            total += load_submit.process_cpu(pid)
    return total


def fold_backend_seconds() -> float:
    """CPU seconds so far of the resident fold's PostgreSQL backends (:data:`FOLD_BACKENDS`)."""
    return sum(load_submit.process_cpu(pid) for pid in FOLD_BACKENDS)


def wal_counters() -> dict[str, float]:
    """PostgreSQL's WAL so far (``pg_stat_wal``: bytes, full-page images) and its
    checkpoints (``pg_stat_bgwriter``, timed or requested); empty on SQLite. A page's
    first change after a checkpoint writes the whole page to the WAL, so a phase that
    meets a checkpoint writes more, and pays for it."""
    if not WAL_URL:
        return {}
    sql = (
        "SELECT w.wal_bytes, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req "
        "FROM pg_stat_wal AS w, pg_stat_bgwriter AS b"
    )
    wal_bytes, images, checkpoints = query_rows(WAL_URL[0], sql)[0]
    return {"bytes": float(wal_bytes), "full_page_images": images, "checkpoints": checkpoints}


def run_wrk(base: str, script: Path, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    """Run wrk once; its figures, the CPU seconds of each server and of wrk itself, the
    machine's, and the load average before and after."""
    command = [
        "wrk", "--threads", str(args.wrk_threads), "--connections", str(args.connections),
        "--duration", f"{args.duration}s", "--timeout", "10s", "--latency",
        "--script", str(script), base, "--", *extra,
    ]  # fmt: skip
    wal_before = wal_counters()
    load_before = os.getloadavg()[0]
    cpu_before, machine_before = load_submit.cpu_seconds(), machine_seconds()
    background_before = postgresql_background_seconds()
    fold_before = fold_backend_seconds()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu_after, machine_after = load_submit.cpu_seconds(), machine_seconds()
        background = postgresql_background_seconds() - background_before
        fold_backend = fold_backend_seconds() - fold_before
        wal = {k: v - wal_before[k] for k, v in wal_counters().items()}
        stdout.seek(0)
        stderr.seek(0)
        text, errors = stdout.read(), stderr.read()
    if proc.returncode != 0:
        sys.exit(f"wrk failed ({proc.returncode}): {text[-2000:]} {errors[-2000:]}")
    out: dict[str, Any] = {"raw": text, "load_before": load_before}
    out["load_after"] = os.getloadavg()[0]
    for key in ("LATENCY", "SUMMARY"):
        line = re.search(rf"^{key} (.*)$", text, re.M)
        if line:
            out.update({k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line.group(1))})
    status_line = re.search(r"^STATUS(.*)$", text, re.M)
    if status_line:
        out["statuses"] = {
            int(k): int(v) for k, v in re.findall(r"(\d+)=(\d+)", status_line.group(1))
        }
    out["cpu_s"] = {
        name: cpu_after[name] - cpu_before[name] for name in cpu_after if name != "client"
    }
    out["cpu_s"]["wrk"] = usage.ru_utime + usage.ru_stime
    out["machine_s"] = {k: machine_after[k] - machine_before[k] for k in machine_after}
    out["background_s"] = background
    out["fold_backend_s"] = max(0.0, fold_backend)  # 0 if the backend was replaced
    out["wal"] = wal
    return out


def cpu_ms_per_request(phase: dict[str, Any], requests: int) -> dict[str, float]:
    """CPU milliseconds per request of each measured process tree, and two parts of
    ``postgresql``: its background processes (``postgresql_background``) and the
    resident fold's backend (``postgresql_fold_backend``)."""
    per = {name: round(1000 * s / max(requests, 1), 2) for name, s in phase["cpu_s"].items()}
    per["postgresql_background"] = round(1000 * phase["background_s"] / max(requests, 1), 3)
    per["postgresql_fold_backend"] = round(1000 * phase["fold_backend_s"] / max(requests, 1), 3)
    return per


# ---------------------------------------------------------------------------
# The figure store kept during a phase (--fold-every)
# ---------------------------------------------------------------------------


def flask_command(env: dict[str, str], *command: str) -> tuple[str, float, float]:
    """Run ``flask --app survey_app <command>``: its output, wall and CPU seconds."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [str(load_submit.VENV_BIN / "flask"), "--app", "survey_app", *command],
            env={**env, "SURVEY_LANG": "en"}, cwd=load_submit.ROOT, stdout=out,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        _pid, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"flask {' '.join(command)} failed: {text[-2000:]}")
    return text, time.perf_counter() - started, usage.ru_utime + usage.ru_stime


@dataclass
class Folder:
    """The folds kept during the fold rounds: ``paused()`` holds them off while the
    ceiling is measured, so that the machine's capacity is measured without our
    folder and the folds of the submissions' responses are charged to the
    submission phases (a fold every 10 s with 10-s phases otherwise took, in every
    other phase, the previous submission phase's responses during the ceiling's)."""

    pause: Callable[[], None]
    resume: Callable[[], None]
    caught_up: str  # what the catch-up fold before the rounds printed
    #: fold what is waiting, unmeasured, and return once folding is idle (its next
    #: fold one period later): before each submission phase with folds
    catch_up: Callable[[], None]
    #: CPU seconds the folder has used so far (the resident process; None otherwise)
    cpu: Callable[[], float | None] = lambda: None

    @contextmanager
    def paused(self) -> Iterator[None]:
        self.pause()
        try:
            yield
        finally:
            self.resume()


@contextmanager
def folding(env: dict[str, str], every: float, folds: list[dict[str, float]]) -> Any:
    """Run ``figures refresh`` once (the catch-up, its line in the yielded
    :class:`Folder`), then every ``every`` seconds in a thread until the block ends
    (none starts while paused; pausing waits for the one under way)."""
    caught_up = flask_command(env, "figures", "refresh")[0].strip()
    stop, held, running = threading.Event(), threading.Event(), threading.Lock()

    def loop() -> None:
        while not stop.wait(every):
            with running:
                if held.is_set():
                    continue
                text, wall, cpu = flask_command(env, "figures", "refresh")
            match = re.search(r"folded ([\d,]+)", text)
            folded = int(match.group(1).replace(",", "")) if match else -1
            folds.append({"folded": folded, "wall_s": wall, "cpu_s": cpu})

    def pause() -> None:
        held.set()
        with running:
            pass

    def catch_up() -> None:
        with running:
            flask_command(env, "figures", "refresh")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield Folder(pause, held.clear, caught_up, catch_up)
    finally:
        stop.set()
        thread.join()


@contextmanager
def resident_folding(
    env: dict[str, str], every: float, folds: list[dict[str, float]], url: str
) -> Any:
    """Run one ``figures refresh --every`` process until the block ends (SIGTERM), and
    append what it did inside the block: the folds that folded something, what they
    folded, its CPU.

    The block starts once the process is ready, as a service started long before the
    load would be: its first fold has taken the earlier phases' responses (none left
    unfolded) and its start (about 2 s of CPU: imports and the app) is over, so the
    phase measures the folds, not the start. Yields a :class:`Folder` with the
    catch-up fold's line."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [str(load_submit.VENV_BIN / "flask"), "--app", "survey_app", "figures", "refresh",
             "--every", str(every)],
            env={**env, "SURVEY_LANG": "en", "PGAPPNAME": FOLD_APP}, cwd=load_submit.ROOT,
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        caught_up, started, cpu_before = "", time.perf_counter(), None

        def wait_idle() -> None:
            """Until nothing is left to fold and the process is idle two samples running."""
            idle, cpu = 0, load_submit.process_cpu(proc.pid)
            while idle < 2 and proc.poll() is None:
                time.sleep(0.25)
                now = load_submit.process_cpu(proc.pid)
                idle = idle + 1 if now - cpu < 0.02 and unfolded(url)[0] == 0 else 0
                cpu = now
            if proc.poll() is not None:
                out.seek(0)
                sys.exit(f"figures refresh --every ended: {out.read()[-2000:]}")

        def pause() -> None:
            """SIGSTOP between two folds, never inside one: a fold stopped in its
            transaction would hold its snapshot and locks through the phases it is
            paused for (the process's connection is named :data:`FOLD_APP`)."""
            while True:
                proc.send_signal(signal.SIGSTOP)
                if not fold_in_transaction(url):
                    return
                proc.send_signal(signal.SIGCONT)
                time.sleep(0.02)

        def catch_up() -> None:
            proc.send_signal(signal.SIGCONT)
            wait_idle()

        try:
            wait_idle()
            FOLD_BACKENDS[:] = fold_backends(url)
            out.seek(0)
            caught_up = out.read()
            started, cpu_before = time.perf_counter(), load_submit.process_cpu(proc.pid)
            yield Folder(
                pause,
                lambda: proc.send_signal(signal.SIGCONT),
                caught_up.strip().splitlines()[-1] if caught_up.strip() else "folded 0",
                catch_up,
                lambda: load_submit.process_cpu(proc.pid),
            )
        finally:
            FOLD_BACKENDS.clear()
            cpu_during = 0.0
            if cpu_before is not None:
                cpu_during = load_submit.process_cpu(proc.pid) - cpu_before
            proc.send_signal(signal.SIGTERM)
            _pid, status, _usage = os.wait4(proc.pid, 0)
            out.seek(0)
            text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"figures refresh --every failed: {text[-2000:]}")
    text = text[len(caught_up) :]
    counts = [int(m.replace(",", "")) for m in re.findall(r"folded ([\d,]+)", text)]
    folds.append(
        {"folded": sum(counts), "folds": len(counts), "wall_s": time.perf_counter() - started,
         "cpu_s": cpu_during}
    )  # fmt: skip


def engine_for(url: str) -> Any:
    """A SQLAlchemy engine for the benchmark's database (the app's URL rules)."""
    from sqlalchemy import create_engine

    from survey_app.config import normalise_database_url

    return create_engine(normalise_database_url(url))


def query_rows(url: str, sql: str, **params: Any) -> list[Any]:
    """The rows of one query on the benchmark's database, on a connection of its own
    (opened and closed for it: these run between phases, not during them)."""
    from sqlalchemy import text

    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


def fold_in_transaction(url: str) -> bool:
    """Whether the resident fold's connection (application name :data:`FOLD_APP`) is in
    a transaction or running a statement (SQLite: never asked, always False)."""
    if not url.startswith("postgresql"):
        return False
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND state <> 'idle'"
    return bool(query_rows(url, sql, name=FOLD_APP)[0][0])


def fold_backends(url: str) -> list[int]:
    """The process ids of the resident fold's PostgreSQL backends (none on SQLite)."""
    if not url.startswith("postgresql"):
        return []
    sql = "SELECT pid FROM pg_stat_activity WHERE application_name = :name"
    return [row[0] for row in query_rows(url, sql, name=FOLD_APP)]


def quiet(url: str, checkpoint: bool = False, limit: float = 60.0) -> None:
    """Wait (at most ``limit`` seconds) until no autovacuum worker runs (PostgreSQL), so
    that a phase does not pay for the vacuum of rows an earlier phase, or the unmeasured
    catch-up fold, left behind; then (``checkpoint``) run a ``CHECKPOINT``, so that
    every phase starts with its pages' first changes writing whole pages to the WAL,
    wherever the server's own checkpoints would fall."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    engine = engine_for(url)
    deadline = time.monotonic() + limit
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            busy = text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            )
            while connection.execute(busy).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.2)
            if checkpoint:
                connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def unfolded(url: str) -> tuple[int, datetime | None]:
    """Acknowledged responses a fold would take (not folded, not flagged, in a wave;
    on PostgreSQL also every one still in the submission inbox), and the oldest one's
    reception time."""
    queued = (
        "SELECT r.received_at FROM figure_queue AS q "
        "JOIN responses AS r ON r.id = q.response_id AND r.wave_id = q.wave_id "
        "WHERE NOT r.flagged"
    )
    if url.startswith("postgresql"):
        queued += " UNION ALL SELECT received_at FROM response_inbox"
    ((count, oldest),) = query_rows(
        url, f"SELECT count(*), min(received_at) FROM ({queued}) AS waiting"
    )
    if isinstance(oldest, str):  # SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest


def create_ceiling_table(url: str) -> None:
    from sqlalchemy import text

    engine = engine_for(url)
    serial = "BIGSERIAL" if url.startswith("postgresql") else "INTEGER"
    with engine.begin() as connection:
        connection.execute(
            text(f"CREATE TABLE bench_ceiling (id {serial} PRIMARY KEY, client_id VARCHAR(36))")
        )
    engine.dispose()


def add_past_waves(url: str, count: int) -> None:
    """``count`` closed monthly waves of the load questionnaire before this year, as a
    deployment gathers them over the years (on PostgreSQL each is a partition of the
    responses and of the answers)."""
    from sqlalchemy import text

    engine = engine_for(url)
    with engine.begin() as connection:
        unit_id, questionnaire_id = connection.execute(
            text(
                "SELECT (SELECT id FROM units WHERE code = 'LT'), (SELECT id FROM "
                "questionnaires WHERE slug = 'kiosk_quick' AND version = 1)"
            )
        ).one()
        year = datetime.now(UTC).year - 1
        for i in range(count):
            start = datetime(year - i // 12, 12 - i % 12, 1).date()
            end = (datetime(start.year + start.month // 12, start.month % 12 + 1, 1)).date()
            connection.execute(
                text(
                    "INSERT INTO waves (code, name_vi, name_en, kind, questionnaire_id, "
                    "unit_id, start_date, end_date, status, lonely_psu) VALUES (:code, "
                    ":code, :code, 'continuous_feedback', :q, :u, :start, :end, 'closed', "
                    "'adjust')"
                ),
                {
                    "code": f"PAST-{i:04d}",
                    "q": questionnaire_id,
                    "u": unit_id,
                    "start": start,
                    "end": end - timedelta(days=1),
                },
            )
    engine.dispose()
    # Settled before the load, as an old installation's are: autovacuum's first pass
    # over the new partitions and the checkpoint after their creation would otherwise
    # run during the measurement.
    settle(url)


def settle(url: str) -> None:
    """PostgreSQL: ``VACUUM ANALYZE`` and ``CHECKPOINT``, as in an installation in
    service, whose tables have planner statistics.

    A table that has never been analysed has none. The submission statement is
    prepared once per connection with a generic plan, and planned for empty tables
    it reads the burst check through whichever index of the new partition came
    first (measured: 0.84-1.04 ms of PostgreSQL CPU per request, instead of 0.51-0.61).
    Autovacuum gives the tables statistics within about a minute of the first rows,
    and the plans are made again then: with a 90-s warm-up and no settling, the ratio
    was the settled one. Settling after the warm-up measures that steady state
    without waiting for it (``--no-settle`` measures the first minute instead).
    """
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    engine = engine_for(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))
    engine.dispose()


def warm_up(base: str, args: argparse.Namespace, token_file: Path, acked_dir: Path) -> None:
    """Both endpoints under the same load for ``--warmup`` seconds each, not measured."""
    warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
    run_wrk(base, SUBMIT, warm, str(token_file), str(acked_dir))
    run_wrk(base, CEILING, warm)


def run_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"survey-wrk-{kind}."))
    instance = work / "instance"
    instance.mkdir()
    acked_dir = work / "acked"
    acked_dir.mkdir()
    try:
        with load_submit.database(kind, work, args) as url:
            if kind == "postgresql":
                WAL_URL[:] = [url]
            env = load_submit.server_environment(url, instance)
            env["BENCHMARK_CEILING"] = "1"
            env["SUBMISSION_INBOX"] = "1" if args.inbox else "0"
            tokens = load_submit.seed(env, args.desks)
            if args.past_waves:
                add_past_waves(url, args.past_waves)
            create_ceiling_table(url)
            token_file = work / "tokens.txt"
            token_file.write_text("".join(f"{d} {t}\n" for d, t in tokens.items()))
            submit_args = (str(token_file), str(acked_dir))
            folds: list[dict[str, float]] = []
            fold: dict[str, Any] = {}
            with load_submit.gunicorn(env, args, work / "gunicorn.log") as base:
                if args.warmup > 0:
                    warm_up(base, args, token_file, acked_dir)
                if args.settle:
                    settle(url)
                submits: list[dict[str, Any]] = []
                ceilings: list[Ceiling] = []
                if args.fold_every > 0:
                    fold_submits, fold_ceilings = [], []
                    fold_cpu: list[float] = []
                    keeping = (
                        resident_folding(env, args.fold_every, folds, url)
                        if args.resident
                        else folding(env, args.fold_every, folds)
                    )
                    caught_up_after: float | None = None

                    def measure_ceiling() -> dict[str, Any]:  # with the folder paused
                        return measured_phase(base, args, url, CEILING, after_autovacuum=True)

                    with keeping as folder:
                        fold["caught_up_before"] = folder.caught_up
                        # --bracket: every measured phase between two ceiling phases
                        # (neighbours share one), so a round is S C [catch-up] F C
                        chain: list[dict[str, Any]] = []
                        if args.bracket:
                            with folder.paused():
                                chain.append(measure_ceiling())
                        for _round in range(args.rounds):
                            # interleaved, so that both kinds of round meet the same
                            # tables at the same time (module docstring)
                            with folder.paused():
                                submits.append(
                                    measured_phase(
                                        base, args, url, SUBMIT, *submit_args, after_autovacuum=True
                                    )
                                )
                                chain.append(measure_ceiling())
                                if args.bracket:
                                    ceilings.append(chain[-2:])
                                else:
                                    ceilings.append(chain[-1])
                                    fold_ceilings.append(measure_ceiling())
                            folder.catch_up()
                            quiet(url, args.checkpoint_each_phase)
                            before = folder.cpu()
                            fold_submits.append(run_wrk(base, SUBMIT, args, *submit_args))
                            stopped = time.perf_counter()
                            after = folder.cpu()
                            if before is not None and after is not None:
                                fold_cpu.append(after - before)
                            at_stop = unfolded(url)
                            if args.bracket:
                                # the lag first (the folder runs on), then the ceiling
                                folder.catch_up()
                                caught_up_after = time.perf_counter() - stopped
                                with folder.paused():
                                    chain.append(measure_ceiling())
                                fold_ceilings.append(chain[-2:])
                    if fold_cpu:
                        fold["fold_process_cpu_s_in_phases"] = round(sum(fold_cpu), 2)
                else:
                    chain = [measured_phase(base, args, url, CEILING)] if args.bracket else []
                    for _round in range(args.rounds):
                        submits.append(measured_phase(base, args, url, SUBMIT, *submit_args))
                        chain.append(measured_phase(base, args, url, CEILING))
                        ceilings.append(chain[-2:] if args.bracket else chain.pop())
                submit, ceiling = merge_phases(submits), merge_phases(flat(ceilings))
                if args.fold_every > 0:
                    fold.update(fold_lag(url, env, folds, stopped, at_stop, caught_up_after))
                    fold["submit"] = (merge_phases(fold_submits), fold_submits, fold_ceilings)
            acknowledged: set[str] = set()
            repeated = 0
            for path in acked_dir.glob("acked-*.txt"):
                for line in path.read_text().splitlines():
                    client_id, status = line.split()
                    acknowledged.add(client_id)
                    repeated += status == "200"
            check = load_submit.check_database(url, acknowledged)
            if fold:
                text, wall, _cpu = flask_command(env, "figures", "verify")
                fold["verify"] = f"{text.strip().splitlines()[-1] if text.strip() else ''} "
                fold["verify"] += f"({wall:.1f} s)"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ceiling_statuses = ceiling.get("statuses", {})
    ceiling_rate = per_second(ceiling, 204)
    result: dict[str, Any] = {
        "database": kind,
        "workers": args.workers,
        "inbox": args.inbox,
        "connections": args.connections,
        "settled": args.settle and kind == "postgresql",
        **phase_figures(submit, ceiling_rate),
        **round_figures(submits, ceilings),
        "ceiling_statuses": ceiling_statuses,
        "ceiling_per_s": round(ceiling_rate, 1),
        "ceiling_p50_ms": ceiling.get("p50"),
        "ceiling_p95_ms": ceiling.get("p95"),
        "ceiling_p99_ms": ceiling.get("p99"),
        "ceiling_cpu_ms_per_request": cpu_ms_per_request(ceiling, int(ceiling["requests"])),
        "ceiling_machine_cores": machine_cores(ceiling),
        "ceiling_wal_per_request": wal_per_request(ceiling, int(ceiling["requests"])),
        "ceiling_load_average": (ceiling["load_before"], ceiling["load_after"]),
    }
    if fold:
        phase, fold_submits, fold_ceilings = fold.pop("submit")
        fold_ceiling_rate = per_second(merge_phases(flat(fold_ceilings)), 204)
        fold_figures = {
            **phase_figures(phase, fold_ceiling_rate),
            **round_figures(fold_submits, fold_ceilings),
            "ceiling_per_s": round(fold_ceiling_rate, 1),
        }
        result.update({f"fold_{k}": v for k, v in fold_figures.items()})
        result.update(fold)
    result["repeated_answered_200"] = repeated
    result.update(check)
    return result


def measured_phase(
    base: str,
    args: argparse.Namespace,
    url: str,
    script: Path,
    *extra: str,
    after_autovacuum: bool = False,
) -> dict[str, Any]:
    """One measured wrk phase of ``script``: after ``--checkpoint-each-phase``'s
    ``CHECKPOINT`` and, with ``after_autovacuum`` (the runs with folds), once no
    autovacuum worker runs (:func:`quiet`)."""
    if after_autovacuum or args.checkpoint_each_phase:
        quiet(url, args.checkpoint_each_phase)
    return run_wrk(base, script, args, *extra)


#: A submission phase's ceiling: one phase, or with ``--bracket`` the two around it.
Ceiling = dict[str, Any] | list[dict[str, Any]]


def flat(ceilings: list[Ceiling]) -> list[dict[str, Any]]:
    """The ceiling phases, each once (with ``--bracket`` neighbouring phases share one)."""
    phases: dict[int, dict[str, Any]] = {}
    for ceiling in ceilings:
        for phase in ceiling if isinstance(ceiling, list) else [ceiling]:
            phases.setdefault(id(phase), phase)
    return list(phases.values())


def ceiling_rate_of(ceiling: Ceiling) -> float:
    """A submission phase's ceiling per second: its phase's, or with ``--bracket`` the
    geometric mean of the phases before and after it, so that a drift of the machine's
    speed that is steady over the three phases cancels out."""
    if not isinstance(ceiling, list):
        return per_second(ceiling, 204)
    product = 1.0
    for phase in ceiling:
        product *= per_second(phase, 204)
    return product ** (1 / len(ceiling))


def per_second(phase: dict[str, Any], status: int) -> float:
    """Answers with ``status`` per second of a wrk phase (201: accepted responses; 204:
    the ceiling's inserts)."""
    return phase.get("statuses", {}).get(status, 0) / phase["duration_s"]


def merge_phases(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Several wrk runs of one endpoint as one: counts, durations and CPU added up,
    each latency percentile the worst of the runs, the load average before the first
    and after the last."""
    if len(phases) == 1:
        return phases[0]
    merged: dict[str, Any] = {
        "load_before": phases[0]["load_before"],
        "load_after": phases[-1]["load_after"],
        "statuses": {},
        "cpu_s": {},
        "machine_s": {},
        "wal": {},
    }
    for phase in phases:
        for key in ("requests", "duration_s", "errors"):
            merged[key] = merged.get(key, 0) + phase.get(key, 0)
        for key in ("p50", "p95", "p99"):
            merged[key] = max(merged.get(key, 0), phase.get(key, 0))
        for status, count in phase.get("statuses", {}).items():
            merged["statuses"][status] = merged["statuses"].get(status, 0) + count
        for kind in ("cpu_s", "machine_s", "wal"):
            for name, seconds in phase[kind].items():
                merged[kind][name] = merged[kind].get(name, 0) + seconds
        for kind in ("background_s", "fold_backend_s"):
            merged[kind] = merged.get(kind, 0) + phase[kind]
    return merged


def round_figures(submits: list[dict[str, Any]], ceilings: list[Ceiling]) -> dict[str, Any]:
    """With ``--rounds`` above 1, each round's ratio (its submission phase against its
    ceiling phase: the one after it, or in the fold phase the one before it; with
    ``--bracket`` the two around it, :func:`ceiling_rate_of`) and their median: this
    VM's speed drifts by a quarter within minutes, and a ratio of two phases minutes
    apart drifts with it."""
    if len(submits) == 1 and not isinstance(ceilings[0], list):
        return {}
    ratios = []
    for submit, ceiling in zip(submits, ceilings, strict=True):
        ceiling_rate = ceiling_rate_of(ceiling)
        ratios.append(round(per_second(submit, 201) / ceiling_rate, 3) if ceiling_rate else 0.0)
    return {
        "round_ratios": ratios,
        "ratio_median": round(median(ratios), 3),
        "round_p99_ms": [submit.get("p99") for submit in submits],
        "round_checkpoints": [submit["wal"].get("checkpoints") for submit in submits],
    }


def phase_figures(phase: dict[str, Any], ceiling_rate: float) -> dict[str, Any]:
    """Rate, latency, CPU and load average of one submission phase."""
    statuses = phase.get("statuses", {})
    accepted = per_second(phase, 201)
    return {
        "duration_s": phase["duration_s"],
        "statuses": statuses,
        "accepted_per_s": round(accepted, 1),
        "p50_ms": phase.get("p50"),
        "p95_ms": phase.get("p95"),
        "p99_ms": phase.get("p99"),
        "socket_errors": int(phase.get("errors", 0)),
        "ratio_to_ceiling": round(accepted / ceiling_rate, 3) if ceiling_rate else None,
        "cpu_ms_per_request": cpu_ms_per_request(phase, int(phase["requests"])),
        "wal_per_request": wal_per_request(phase, int(phase["requests"])),
        "machine_cores": machine_cores(phase),
        "load_average": (phase["load_before"], phase["load_after"]),
    }


def wal_per_request(phase: dict[str, Any], requests: int) -> dict[str, float]:
    """The WAL a phase wrote per request (kB, full-page images) and its checkpoints."""
    wal = phase["wal"]
    if not wal:
        return {}
    return {
        "kb": round(wal["bytes"] / 1024 / max(requests, 1), 2),
        "full_page_images": round(wal["full_page_images"] / max(requests, 1), 3),
        "checkpoints": wal["checkpoints"],
    }


def machine_cores(phase: dict[str, Any]) -> dict[str, float]:
    """How many of the machine's cores were busy, idle and idle waiting for I/O during
    the phase, on average, and how many of the busy ones not in the measured processes
    (gunicorn, the PostgreSQL server's processes alive at the phase's end, wrk): the
    kernel's interrupts, processes that ended within the phase (PostgreSQL's autovacuum
    workers), the resident fold, anything else running."""
    seconds, duration = phase["machine_s"], phase["duration_s"]
    measured = sum(phase["cpu_s"].values())
    cores = {name: round(value / duration, 2) for name, value in seconds.items()}
    cores["busy_outside_measured"] = round((seconds["busy"] - measured) / duration, 2)
    return cores


def fold_text(fold: dict[str, float]) -> str:
    cpu = f"({fold['cpu_s']:.2f} s CPU)"
    if "folds" in fold:  # --resident: the one process's total
        folds = f"{fold['folds']:.0f} folds of {fold['folded']:.0f}"
        return f"one process, {folds} in {fold['wall_s']:.2f} s {cpu}"
    return f"{fold['folded']:.0f} in {fold['wall_s']:.2f} s {cpu}"


def fold_lag(
    url: str,
    env: dict[str, str],
    folds: list[dict[str, float]],
    stopped: float,
    at_stop: tuple[int, datetime | None],
    caught_up_after: float | None = None,
) -> dict[str, Any]:
    """How far the figure store was behind when the load stopped (``at_stop``, read
    then), and how long after the stop every acknowledged response was folded: the
    fold running at the stop finished, then one more refresh; with ``--bracket``,
    ``caught_up_after``: the folder itself folded them all that many seconds after the
    stop, before the last ceiling phase."""
    waiting, oldest = at_stop
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    age -= time.perf_counter() - stopped  # the age at the stop, not now
    _text, wall, cpu = flask_command(env, "figures", "refresh")
    left, _oldest = unfolded(url)
    return {
        "folds_during_rounds": [fold_text(f) for f in folds],
        "unfolded_at_stop": waiting,
        "oldest_unfolded_age_at_stop_s": round(age, 2),
        "all_folded_after_stop_s": (
            None
            if left
            else round(
                caught_up_after if caught_up_after is not None else time.perf_counter() - stopped, 2
            )
        ),
        "last_fold": f"{wall:.2f} s ({cpu:.2f} s CPU)",
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
    parser.add_argument(
        "--past-waves",
        type=int,
        default=0,
        help="monthly waves before this year to add first (PostgreSQL: partitions)",
    )
    parser.add_argument("--no-pg-fsync", dest="pg_fsync", action="store_false")
    parser.add_argument(
        "--fold-every", type=float, default=0.0,
        help="seconds between figure-store refreshes in a second submission phase (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--resident", action="store_true",
        help="with --fold-every: one 'figures refresh --every N' process instead of one per fold",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=int, default=0, help="seconds of unmeasured load on each endpoint first"
    )
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="submission and ceiling phases, alternated this many times (totals, each "
        "round's ratio and their median)",
    )  # fmt: skip
    parser.add_argument(
        "--settle", action=argparse.BooleanOptionalAction, default=True,
        help="PostgreSQL: VACUUM ANALYZE and CHECKPOINT after the warm-up (default on: "
        "the tables have statistics, as in service; --no-settle: the first minute of a "
        "new database)",
    )  # fmt: skip
    parser.add_argument(
        "--checkpoint-each-phase", action="store_true",
        help="PostgreSQL: a CHECKPOINT before every measured phase, so that no kind of "
        "phase meets the server's own checkpoints more than another",
    )  # fmt: skip
    parser.add_argument(
        "--bracket", action="store_true",
        help="a ceiling phase before and after every submission phase (neighbours share "
        "one); each round's ratio is against the geometric mean of the two",
    )  # fmt: skip
    parser.add_argument(
        "--inbox", action="store_true",
        help="SUBMISSION_INBOX=1: acknowledge from the inbox; the folder moves it every "
        "second (the phases without folds then leave it waiting until the catch-up)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.worker_class, args.threads = "sync", 1  # gunicorn: sync workers, one thread
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    print(f"# {os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.2f}", flush=True)
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
    ok = all(
        r["lost"] == 0 and r["duplicates"] == 0 and set(r["ceiling_statuses"]) == {204}
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
