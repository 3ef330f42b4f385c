"""figure_sums holds one vector per PSU, procedure field and channel, not one row per
statistic

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:00:00

``figure_sums`` loses ``stat``, ``a``, ``b`` and ``c`` and gains ``stats_id`` (a
``figure_stat_lists`` row) and ``sums`` (each statistic's ``a, b, c`` in that order,
little-endian float64), as ``figure_cells`` has them since 0008; its unique key loses
``stat``.

Why: a fold adds to the rows of every desk and day it meets. With one row per
statistic that was about nine rows of figure_sums per desk and day, rewritten by every
fold: at 3,000 desks the resident fold cost the submissions about 7 % of the machine
(benchmarks/README.md, stop 46). Now it is one row per desk, day, field and channel.

The upgrade packs the existing rows, with every answer group's statistic that the
wave's rows name in each of its vectors (zeros included, as a fold writes them: 0015's
folds left out a group no respondent of the cell answered). A wave where no respondent
answered a group's items has no row naming it: it is read from its rows, as it was
under 0015, until ``flask figures rebuild``. The downgrade unpacks the vectors. No sum
changes: both directions carry the same numbers.
"""

from collections.abc import Iterator

import numpy as np
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Each direction carries every sum across: no data lost.
DOWNGRADE_DROPS = {
    "tables": (),
    "columns": (),
}

KEY = ("wave_id", "unit_id", "stratum", "psu", "field_id", "channel")
#: Rows written per statement.
ROWS = 1000


def _columns(packed: bool) -> list[sa.Column]:
    ids = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    columns = [
        sa.Column("id", ids, autoincrement=True, nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=64), nullable=False),
        sa.Column("psu", sa.String(length=64), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
    ]
    if packed:
        return [
            *columns,
            sa.Column("stats_id", sa.Integer(), nullable=False),
            sa.Column("sums", sa.LargeBinary(), nullable=False),
        ]
    return [
        *columns,
        sa.Column("stat", sa.String(length=400), nullable=False),
        sa.Column("a", sa.Float(), nullable=False),
        sa.Column("b", sa.Float(), nullable=False),
        sa.Column("c", sa.Float(), nullable=False),
    ]


def _create(packed: bool) -> sa.Table:
    """figure_sums as this revision (packed) or 0015 has it, with its constraints."""
    constraints: list[sa.SchemaItem] = [
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name="fk_figure_sums_wave_id_waves", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_figure_sums"),
    ]
    if packed:
        constraints += [
            sa.ForeignKeyConstraint(
                ["stats_id"],
                ["figure_stat_lists.id"],
                name="fk_figure_sums_stats_id_figure_stat_lists",
            ),
            sa.UniqueConstraint(*KEY, name="uq_figure_sums_cell"),
        ]
    else:
        constraints.append(sa.UniqueConstraint(*KEY, "stat", name="uq_figure_sums_cell"))
    return op.create_table(
        "figure_sums", *_columns(packed), *constraints, postgresql_with={"fillfactor": 50}
    )


def _set_aside() -> str:
    """Rename figure_sums, and on PostgreSQL its constraints and sequence, whose names
    the new table takes; returns the old table's new name."""
    old = "figure_sums_before_0016"
    op.rename_table("figure_sums", old)
    if op.get_bind().dialect.name == "postgresql":
        for name in ("pk_figure_sums", "uq_figure_sums_cell", "fk_figure_sums_wave_id_waves"):
            op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_0016")
        op.execute(f"ALTER SEQUENCE IF EXISTS figure_sums_id_seq RENAME TO {old}_id_seq")
    return old


def _stat_list(bind: sa.Connection, names: tuple[str, ...], known: dict) -> int:
    """The id of the figure_stat_lists row naming ``names`` (created when new)."""
    if names not in known:
        joined = ";".join(names)
        lists = sa.table("figure_stat_lists", sa.column("id"), sa.column("names"))
        found = bind.scalar(sa.select(lists.c.id).where(lists.c.names == joined))
        if found is None:
            bind.execute(lists.insert().values(names=joined))
            found = bind.scalar(sa.select(lists.c.id).where(lists.c.names == joined))
        known[names] = found
    return known[names]


def _insert(bind: sa.Connection, table: sa.Table, rows: Iterator[dict]) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == ROWS:
            bind.execute(table.insert(), batch)
            batch = []
    if batch:
        bind.execute(table.insert(), batch)


def upgrade():
    bind = op.get_bind()
    old = _set_aside()
    new = _create(packed=True)
    source = sa.table(old, *(sa.column(c) for c in (*KEY, "stat", "a", "b", "c")))
    # every answer group's statistic of a wave, in each of its vectors (a fold writes
    # them, zeros included, so that a reader can tell a vector of another index rule)
    groups: dict[int, set[str]] = {}
    for wave_id, stat in bind.execute(
        sa.select(source.c.wave_id, source.c.stat).where(source.c.stat.like("a:%")).distinct()
    ):
        groups.setdefault(wave_id, set()).add(stat)
    ordered = sa.select(*source.c).order_by(*(source.c[name] for name in KEY))
    # streamed (PostgreSQL: a server-side cursor), not held whole in memory
    rows = bind.execute(ordered.execution_options(stream_results=True)).yield_per(10_000)
    known: dict[tuple[str, ...], int] = {}

    def packed() -> Iterator[dict]:
        key, stats = None, {}
        for row in rows:
            here = tuple(row[:6])
            if here != key and key is not None:
                yield vector(key, stats)
                stats = {}
            key = here
            stats[row[6]] = (row[7], row[8], row[9])
        if key is not None:
            yield vector(key, stats)

    def vector(key: tuple, stats: dict) -> dict:
        for group in groups.get(key[0], ()):
            stats.setdefault(group, (0.0, 0.0, 0.0))
        names = tuple(sorted(stats))
        sums = np.array([stats[n] for n in names], dtype="<f8").tobytes()
        return {
            **dict(zip(KEY, key, strict=True)),
            "stats_id": _stat_list(bind, names, known),
            "sums": sums,
        }

    _insert(bind, new, packed())
    op.drop_table(old)


def downgrade():
    bind = op.get_bind()
    old = _set_aside()
    new = _create(packed=False)
    source = sa.table(old, *(sa.column(c) for c in (*KEY, "stats_id", "sums")))
    lists = {
        i: names.split(";")
        for i, names in bind.execute(sa.text("SELECT id, names FROM figure_stat_lists"))
    }

    def unpacked() -> Iterator[dict]:
        streamed = sa.select(*source.c).execution_options(stream_results=True)
        for row in bind.execute(streamed).yield_per(10_000):
            sums = np.frombuffer(bytes(row[7]), dtype="<f8").reshape(-1, 3)
            for name, (a, b, c) in zip(lists[row[6]], sums.tolist(), strict=True):
                yield {**dict(zip(KEY, row[:6], strict=True)), "stat": name, "a": a, "b": b, "c": c}

    _insert(bind, new, unpacked())
    op.drop_table(old)
