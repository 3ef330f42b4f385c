"""Benchmark: the full index table from the database against the bare GROUP BY query.

Simulates 1,000,000 SIPAS responses (the shipped questionnaire ``questionnaires/sipas.yaml``:
23 five-level criteria in 5 aspects, the overall item and the procedure field, so 25
coded answers per response, about 4% of criteria left blank): 4 field-survey waves of
250,000 responses, 60 strata x 50 PSUs (desks) = 3,000 PSUs, each PSU in one of 50 units,
unequal design weights. Loads them into SQLite (a temporary file) and into PostgreSQL (a
throwaway server started here as in ``scripts/pg.sh``: ``initdb`` as the ``postgres``
user, loopback only, stopped and deleted at the end; or ``--pg-url`` for a server of your
own), then times on each database, best of ``--repeat``:

(a) the bare query any implementation must at least run: per wave x unit x stratum x PSU
    x item, the sums of weights and of weights of satisfied answers (plain SQL below);
(b) the full index table: ``survey_app.reporting.indices.compute.compute`` for all 50 units x 4
    waves (overall index and the 5 aspects, as rates and mean scores, with SEs, CIs,
    df, n, effective n and the covariance across the 200 domains).

Loading bypasses the service layer on purpose: rows go straight into ``responses`` and
``answer_values`` with each answer's wave (the partition key on PostgreSQL), and on
PostgreSQL into ``response_keys`` and ``figure_queue`` as the claim trigger would
(``COPY`` with the triggers off; ``bench_pages.py`` loads the same way), SQLite
``executemany`` in one transaction (its triggers fill the queue), the secondary index
``ix_answer_values_item_value`` dropped during the load and rebuilt after it,
foreign-key checks off during the load, then ``ANALYZE``). Per-response
validation (``collection.responses.store_many``) would take far longer than the queries
being measured and is not what this benchmark is about; the simulated answers are
valid by construction (levels 1-5, one field option), and the script checks one stored
response through the ORM. Not part of the test suite.

Usage::

    .venv/bin/python benchmarks/bench_indices.py [--n 1000000] [--repeat 3] [--seed 6]
        [--databases sqlite,postgresql] [--pg-url postgresql+psycopg://...] [--profile]
        [--sqlite-file PATH]   # keep the loaded SQLite file; a second run reuses it
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

N_WAVES, N_UNITS, N_STRATA, PSU_PER_STRATUM = 4, 50, 60, 50
PSU_PER_UNIT = N_STRATA * PSU_PER_STRATUM // N_UNITS  # a unit: 60 consecutive PSUs, 2-3 strata
FIELD_OPTIONS = ("dat_dai", "tu_phap_ho_tich", "xay_dung", "kinh_doanh", "lao_dong_xa_hoi", "khac")
CHUNK = 100_000  # responses per load batch

BARE_QUERY = """
SELECT r.wave_id, r.unit_id, r.stratum, r.psu, a.item_id,
       SUM(r.design_weight) AS v,
       SUM(CASE WHEN a.value IN (4, 5) THEN r.design_weight ELSE 0 END) AS s
FROM responses AS r
JOIN answer_values AS a ON a.response_id = r.id
WHERE r.wave_id IN ({waves}) AND a.item_id IN ({items})
GROUP BY r.wave_id, r.unit_id, r.stratum, r.psu, a.item_id
"""


def simulate(n: int, seed: int, n_criteria: int) -> dict[str, np.ndarray]:
    """Waves, PSUs (60 strata x 50; a unit holds 60 PSUs), weights and answers."""
    rng = np.random.default_rng(seed)
    n_psu = N_STRATA * PSU_PER_STRATUM
    psu = rng.integers(0, n_psu, size=n).astype(np.int32)
    wave = np.sort(rng.integers(0, N_WAVES, size=n)).astype(np.int32)
    weight = np.round(np.exp(rng.normal(0, 0.5, n_psu))[psu] * rng.uniform(0.5, 1.5, n) * 30, 4)
    latent = (
        rng.normal(0, 0.5, n_psu)[psu]
        + rng.normal(0, 0.4, N_UNITS)[psu // PSU_PER_UNIT]
        + 0.2 * wave
        + rng.normal(0, 0.7, n)
    )
    # criteria and the overall item: levels 1-5; 0 = left blank (criteria only)
    noise = rng.normal(0, 0.9, (n, n_criteria + 1)).astype(np.float32)
    levels = np.clip(np.rint(3.3 + latent[:, None] + noise), 1, 5).astype(np.int8)
    blank = rng.random((n, n_criteria)) < 0.04
    levels[:, :n_criteria][blank] = 0
    field = rng.integers(1, len(FIELD_OPTIONS) + 1, size=n).astype(np.int8)
    return {"psu": psu, "wave": wave, "weight": weight, "levels": levels, "field": field}


# --- servers and apps ----------------------------------------------------------------------


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server on loopback for this run (the logic of scripts/pg.sh)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    bin_dir = bins[-1]
    folder = Path(tempfile.mkdtemp(prefix="bench-indices-pg."))
    (folder / "sock").mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run: list[str] = []
    if os.getuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(folder / "sock", "postgres", "postgres")
        run = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    subprocess.run([*run, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*run, str(bin_dir / "pg_ctl"), "-D", str(data), "-w"]
    subprocess.run([*pg_ctl, "-l", str(folder / "server.log"), "-o", options, "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def make_app(url: str, instance: Path) -> Any:
    """An app on ``url`` with the schema migrated (as ``flask db upgrade``)."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from survey_app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark"})
    with app.app_context():
        upgrade()
    return app


# --- loading -------------------------------------------------------------------------------


def reference_rows(
    unit_rows: list[dict[str, str]] | None = None, sampled: list[str] | None = None
) -> dict[str, Any]:
    """Questionnaire, units and waves through the service layer; returns their ids.

    ``unit_rows`` (for ``units.import_units``) default to a province ``P`` over
    ``N_UNITS`` districts ``U00``...; ``sampled`` are the codes of the units the
    simulated responses belong to (default those districts). ``bench_pages.py`` passes
    a deeper tree.
    """
    from survey_app.admin import units
    from survey_app.collection import questionnaire as spec
    from survey_app.collection import questionnaires
    from survey_app.extensions import db
    from survey_app.models import Unit, Wave, WaveKind

    definition = spec.load_questionnaire(ROOT / "questionnaires" / "sipas.yaml")
    questionnaires.upsert(definition)
    row = questionnaires.get(definition.slug, definition.version)
    if unit_rows is None:
        unit_rows = [{"code": "P", "name_vi": "Tỉnh", "name_en": "Province", "kind": "province",
                      "parent_code": ""}]  # fmt: skip
        unit_rows += [{"code": f"U{u:02d}", "name_vi": f"Đơn vị {u}", "name_en": f"Unit {u}",
                       "kind": "district", "parent_code": "P"} for u in range(N_UNITS)]  # fmt: skip
    if sampled is None:
        sampled = [f"U{u:02d}" for u in range(N_UNITS)]
    units.import_units(unit_rows)
    by_code = {u.code: u.id for u in db.session.scalars(select(Unit))}
    waves = []
    for w in range(N_WAVES):
        wave = Wave(code=f"B{2021 + w}", name_vi=f"Đợt {2021 + w}", name_en=f"Wave {2021 + w}",
                    kind=WaveKind.FIELD_SURVEY, questionnaire_id=row.id, unit_id=by_code["P"],
                    start_date=date(2021 + w, 5, 1), end_date=date(2021 + w, 5, 31))  # fmt: skip
        db.session.add(wave)
        waves.append(wave)
    db.session.commit()
    items = {item.code: item.id for item in row.items}
    criteria = [i for a in definition.index.aspects for i in a.items]
    return {
        "questionnaire_id": row.id,
        "criteria": criteria,
        "criteria_ids": [items[c] for c in criteria],
        "overall_id": items["overall"],
        "field_id": items["field"],
        "unit_ids": np.array([by_code[code] for code in sampled]),
        "wave_ids": np.array([w.id for w in waves]),
    }


def stored_reference_rows() -> dict[str, Any]:
    """The ids :func:`reference_rows` created in a database loaded by an earlier run."""
    from survey_app.collection import questionnaire as spec
    from survey_app.collection import questionnaires
    from survey_app.extensions import db
    from survey_app.models import Unit, Wave

    definition = spec.load_questionnaire(ROOT / "questionnaires" / "sipas.yaml")
    items = {i.code: i.id for i in questionnaires.get(definition.slug, definition.version).items}
    criteria = [i for a in definition.index.aspects for i in a.items]
    by_code = {u.code: u.id for u in db.session.scalars(select(Unit))}
    waves = db.session.scalars(select(Wave.id).where(Wave.code.like("B20%")).order_by(Wave.id))
    return {
        "criteria": criteria,
        "criteria_ids": [items[c] for c in criteria],
        "unit_ids": np.array([by_code[f"U{u:02d}"] for u in range(N_UNITS)]),
        "wave_ids": np.array(list(waves)),
    }


def response_chunks(data: dict[str, np.ndarray], refs: dict[str, Any], postgres: bool):
    """Rows of ``responses`` and ``answer_values`` in chunks of CHUNK responses."""
    n = data["psu"].shape[0]
    criteria = refs["criteria"]
    codes = [*criteria, "overall"]
    item_ids = np.array([*refs["criteria_ids"], refs["overall_id"]])
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        ids = np.arange(start + 1, stop + 1)
        psu = data["psu"][start:stop]
        levels = data["levels"][start:stop]
        field = data["field"][start:stop]
        wave_ids = refs["wave_ids"][data["wave"][start:stop]]
        unit_ids = refs["unit_ids"][psu // PSU_PER_UNIT]
        stratum = [f"H{h:02d}" for h in (psu // PSU_PER_STRATUM).tolist()]
        psu_label = [f"D{p:04d}" for p in psu.tolist()]
        day = "2021-05-15 08:00:00"
        responses = []
        for k, rid in enumerate(ids.tolist()):
            answers = {"field": FIELD_OPTIONS[field[k] - 1]}
            answers.update((c, v) for c, v in zip(codes, levels[k].tolist(), strict=True) if v)
            client = uuid.UUID(int=rid)
            responses.append((
                rid, str(client) if postgres else client.hex, refs["questionnaire_id"],
                int(unit_ids[k]), int(wave_ids[k]), "field", "vi",
                day + ("+00" if postgres else ".000000"), day + ("+00" if postgres else ".000000"),
                json.dumps(answers), f"{rid:064x}", stratum[k], psu_label[k],
                float(data["weight"][start + k]), False,
            ))  # fmt: skip
        # answer_values in primary-key order: (response_id, item_id, value)
        given = levels > 0
        rows = np.column_stack([
            np.repeat(ids, given.sum(axis=1)),
            np.broadcast_to(item_ids, levels.shape)[given],
            levels[given].astype(np.int64),
        ])  # fmt: skip
        rows = np.vstack([rows, np.column_stack([ids, np.full_like(ids, refs["field_id"]), field])])
        rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
        yield responses, rows


RESPONSE_COLUMNS = ("id, client_id, questionnaire_id, unit_id, wave_id, channel, lang, "
                    "submitted_at, received_at, answers, content_hash, stratum, psu, "
                    "design_weight, flagged")  # fmt: skip


def with_waves(rows: np.ndarray, data: dict[str, np.ndarray], refs: dict[str, Any]) -> np.ndarray:
    """Answer rows (response_id, item_id, value) plus their response's wave."""
    waves = refs["wave_ids"][data["wave"][rows[:, 0] - 1]]
    return np.column_stack([rows, waves])


def load_sqlite(path: Path, data: dict[str, np.ndarray], refs: dict[str, Any]) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("DROP INDEX ix_answer_values_item_value")
    marks = ", ".join("?" * 15)
    with con:
        for responses, rows in response_chunks(data, refs, postgres=False):
            con.executemany(f"INSERT INTO responses ({RESPONSE_COLUMNS}) VALUES ({marks})",
                            responses)  # fmt: skip
            answers = with_waves(rows, data, refs).tolist()
            con.executemany("INSERT INTO answer_values (response_id, item_id, value, wave_id) "
                            "VALUES (?, ?, ?, ?)", answers)  # fmt: skip
    con.execute("CREATE INDEX ix_answer_values_item_value ON answer_values (item_id, value)")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def binary_copy_rows(rows: np.ndarray) -> bytes:
    """PostgreSQL's binary COPY of (bigint, integer, integer, integer) rows."""
    record = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("response_id", ">i8"), ("l2", ">i4"),
                       ("item_id", ">i4"), ("l3", ">i4"), ("value", ">i4"), ("l4", ">i4"),
                       ("wave_id", ">i4")])  # fmt: skip
    out = np.empty(rows.shape[0], dtype=record)
    out["fields"], out["l1"], out["l2"], out["l3"], out["l4"] = 4, 8, 4, 4, 4
    out["response_id"], out["item_id"], out["value"] = rows[:, 0], rows[:, 1], rows[:, 2]
    out["wave_id"] = rows[:, 3]
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + out.tobytes() + (-1).to_bytes(2, "big", signed=True)


def load_postgres(engine: Any, data: dict[str, np.ndarray], refs: dict[str, Any]) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")  # no triggers during COPY
        cur.execute("DROP INDEX ix_answer_values_item_value")
        cur.execute("DROP INDEX ix_responses_desk_same_answers")  # built after, in bulk
        for responses, rows in response_chunks(data, refs, postgres=True):
            with cur.copy(f"COPY responses ({RESPONSE_COLUMNS}) FROM STDIN") as copy:
                for record in responses:
                    copy.write_row(record)
            # the keys the claim trigger would have written (it is off during COPY)
            with cur.copy("COPY response_keys (response_id, client_id, wave_id, content_hash) "
                          "FROM STDIN") as copy:  # fmt: skip
                for record in responses:
                    copy.write_row((record[0], record[1], record[4], record[10]))
            # and the figure store's queue rows (migration 0014), as that trigger would
            with cur.copy("COPY figure_queue (wave_id, response_id) FROM STDIN") as copy:
                for record in responses:
                    copy.write_row((record[4], record[0]))
            with cur.copy("COPY answer_values (response_id, item_id, value, wave_id) "
                          "FROM STDIN WITH (FORMAT binary)") as copy:  # fmt: skip
                copy.write(binary_copy_rows(with_waves(rows, data, refs)))
        cur.execute("CREATE INDEX ix_answer_values_item_value ON answer_values (item_id, value)")
        # as migration 0010 makes it
        cur.execute(
            "CREATE INDEX ix_responses_desk_same_answers ON responses "
            "(desk_id, questionnaire_id, jsonb_hash(answers), submitted_at) "
            "WHERE desk_id IS NOT NULL"
        )
        cur.execute("SELECT setval('responses_id_seq', (SELECT max(id) FROM responses))")
        raw.commit()
        for table in ("responses", "answer_values", "response_keys", "figure_queue"):
            cur.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()


def check_one_response(data: dict[str, np.ndarray]) -> None:
    """The bulk-loaded rows read back through the ORM like any stored response."""
    from survey_app.extensions import db
    from survey_app.models import Response

    response = db.session.get(Response, 1)
    assert response is not None and response.client_id == uuid.UUID(int=1)
    assert response.design_weight == float(data["weight"][0])
    assert response.answers["field"] == FIELD_OPTIONS[data["field"][0] - 1]
    assert response.submitted_at.year == 2021


# --- timing --------------------------------------------------------------------------------


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def measure(app: Any, refs: dict[str, Any], repeat: int, profile: bool) -> dict[str, Any]:
    from survey_app.extensions import db
    from survey_app.models import Unit, Wave
    from survey_app.reporting.indices.compute import compute

    waves = list(db.session.scalars(select(Wave).order_by(Wave.id)))
    units = list(db.session.scalars(select(Unit).where(Unit.code != "P").order_by(Unit.code)))
    bare = text(BARE_QUERY.format(waves=", ".join(map(str, refs["wave_ids"].tolist())),
                                  items=", ".join(map(str, refs["criteria_ids"]))))  # fmt: skip

    def run_bare() -> int:
        with db.engine.connect() as connection:
            return len(connection.execute(bare).fetchall())

    def run_full() -> Any:
        result = compute(waves, units)
        db.session.rollback()
        return result

    bare_time, bare_rows = best_of(run_bare, repeat)
    full_time, result = best_of(run_full, repeat)
    out = {"bare": bare_time, "bare_rows": bare_rows, "full": full_time,
           "figures": len(result.figures), "domains": len(result.domains)}  # fmt: skip
    overall = [f for f in result.figures if f.code == "overall" and f.kind == "rate"]
    out["overall_example"] = overall[0]
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_full()
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(25)
        out["profile"] = stream.getvalue()
    return out


def run_database(name: str, url: str, instance: Path, data: dict[str, np.ndarray],
                 args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    from survey_app.extensions import db

    app = make_app(url, instance)
    reuse = name == "sqlite" and args.sqlite_file and Path(args.sqlite_file).exists()
    with app.app_context():
        if reuse:  # loaded by an earlier run with the same --n and --seed
            refs, load_time = stored_reference_rows(), math.nan
            out = measure(app, refs, args.repeat, args.profile)
            out["load"] = load_time
            db.session.remove()
            db.engine.dispose()
            return out
        refs = reference_rows()
        t0 = time.perf_counter()
        if name == "sqlite":
            db.engine.dispose()
            load_sqlite(Path(url.removeprefix("sqlite:///")), data, refs)
        else:
            load_postgres(db.engine, data, refs)
        load_time = time.perf_counter() - t0
        check_one_response(data)
        db.session.rollback()
        out = measure(app, refs, args.repeat, args.profile)
        out["load"] = load_time
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default="", help="use this PostgreSQL server instead")
    parser.add_argument("--profile", action="store_true", help="cProfile one full run")
    parser.add_argument("--keep", default="", help="keep the SQLite file in this folder")
    parser.add_argument("--sqlite-file", default="",
                        help="SQLite file to load (kept), or to reuse if an earlier run with "
                             "the same --n and --seed loaded it")  # fmt: skip
    args = parser.parse_args()
    data = simulate(args.n, args.seed, n_criteria=23)
    print(f"{args.n:,} responses x 25 coded answers ({N_WAVES} waves, {N_UNITS} units, "
          f"{N_STRATA} strata, {N_STRATA * PSU_PER_STRATUM} PSUs); load average "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-indices.") as temporary:
        folder = args.keep or temporary
        for name in args.databases.split(","):
            instance = Path(folder) / name
            instance.mkdir(exist_ok=True)
            if name == "sqlite":
                path = Path(args.sqlite_file) if args.sqlite_file else instance / "bench.sqlite3"
                results[name] = run_database(name, f"sqlite:///{path}", instance, data, args)
            elif args.pg_url:
                results[name] = run_database(name, args.pg_url, instance, data, args)
            else:
                with throwaway_postgres() as url:
                    results[name] = run_database(name, url, instance, data, args)
            r = results[name]
            ratio = r["full"] / r["bare"]
            print(f"\n{name}: loaded in {r['load']:.1f} s; bare GROUP BY {r['bare']:.2f} s "
                  f"({r['bare_rows']:,} rows); full index table {r['full']:.2f} s "
                  f"({r['domains']} domains, {r['figures']:,} figures); ratio {ratio:.2f}; "
                  f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
            f = r["overall_example"]
            print(f"  e.g. overall index of domain {f.domain}: {f.value:.4f} "
                  f"[{f.ci_low:.4f}, {f.ci_high:.4f}], n={f.n}, n_eff={f.n_eff:.0f}")  # fmt: skip
            if "profile" in r:
                print(r["profile"])
    print("\n| database | bare GROUP BY | full index table | ratio |")
    print("| --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['bare']:.2f} s | {r['full']:.2f} s | {r['full'] / r['bare']:.2f} |")


if __name__ == "__main__":
    main()
