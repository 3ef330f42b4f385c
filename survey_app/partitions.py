"""PostgreSQL partitions of ``responses`` and ``answer_values`` by wave (migration 0007).

On PostgreSQL both tables are LIST-partitioned by ``wave_id``: one partition per wave
(``responses_w<id>``, ``answer_values_w<id>``, made by a trigger on ``waves``) and a
default partition for rows without a wave. What the models cannot say is made by the
migration and listed here:

- ``response_keys`` (client id, dossier, wave and content hash, one row per response),
  kept by triggers on ``responses``: unique constraints of a partitioned table must
  hold the partition key, so the client id and the dossier are unique over all waves
  through this table; a resend is recognised from it alone (migration 0012);
- the unique constraints ``uq_responses_id_wave`` and
  ``uq_answer_values_response_item_value`` (the keys with the wave added), the foreign
  key of weights to ``response_keys``, and the client-id index that replaces the
  unique constraint;
- instead of foreign keys from answers (migration 0009: checked per row, they cost
  most of a submission), the triggers ``answer_values_have_responses_*`` (each
  statement's answer rows must have their response, of the same wave, in
  ``response_keys``) and ``response_keys_release`` (a deleted response's answers go
  with it);
- ``response_inbox`` (migration 0018): kiosk responses acknowledged with their key
  claimed and not moved into ``responses`` yet (``SUBMISSION_INBOX``).

:func:`include_object` keeps Alembic's comparison of models and database (autogenerate,
``tests/test_migrations.py``) from reading these as differences to undo.
:func:`detach_wave` detaches a wave's two partitions for archiving
(docs/operations.md, "Partitions").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    String,
    TableClause,
    Uuid,
    column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

PARTITIONED = ("responses", "answer_values")
#: Tables the migration adds on PostgreSQL beyond the models.
EXTRA_TABLES = ("response_keys", "response_inbox")
#: ``response_keys`` for queries (PostgreSQL only): a response's client id, wave,
#: dossier hash and content hash (copies kept by triggers, migrations 0007 and 0012).
RESPONSE_KEYS: TableClause = table(
    "response_keys",
    column("response_id", BigInteger()),
    column("client_id", Uuid()),
    column("wave_id", Integer()),
    column("dossier_hash", String()),
    column("content_hash", String()),
)
#: ``response_inbox`` (PostgreSQL only, migration 0018): kiosk responses acknowledged and
#: not moved into ``responses`` yet, each with its answer rows as two arrays
#: (survey_app/collection/submissions/inbox.py).
RESPONSE_INBOX: TableClause = table(
    "response_inbox",
    column("id", BigInteger()),
    column("client_id", Uuid()),
    column("questionnaire_id", Integer()),
    column("unit_id", Integer()),
    column("desk_id", Integer()),
    column("wave_id", Integer()),
    column("procedure_id", Integer()),
    column("channel", String()),
    column("lang", String()),
    column("started_at", DateTime(timezone=True)),
    column("submitted_at", DateTime(timezone=True)),
    column("received_at", DateTime(timezone=True)),
    column("answers", JSONB()),
    column("content_hash", String()),
    column("dossier_hash", String()),
    column("item_ids", ARRAY(Integer())),
    column("item_values", ARRAY(Integer())),
)
#: Rows stored at once from which the bulk load refreshes the statistics (:func:`analyze_waves`).
ANALYZE_AFTER = 500
#: Partition names: responses_w12, answer_values_default, ...
PARTITION_KEYED = ("index", "unique_constraint", "foreign_key_constraint")
PARTITION_NAME = re.compile(r"^(responses|answer_values)_(w\d+|default)$")


def include_object(dialect_name: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for a database: leave out what partitioning changed.

    On PostgreSQL the columns of the partitioned tables are still compared; their keys,
    indexes and foreign keys (and ``response_weights``' foreign key) are the
    migration's, as are the partitions and ``response_keys``. On SQLite nothing is left
    out.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if dialect_name != "postgresql":
            return True
        if type_ == "table":
            return not (name in EXTRA_TABLES or PARTITION_NAME.match(name or ""))
        table = getattr(obj, "table", None)
        if table is None or type_ not in PARTITION_KEYED:
            return True
        if table.name in PARTITIONED:
            return False
        return not (table.name == "response_weights" and type_ == "foreign_key_constraint")

    return include


def partition_names(wave_id: int | None) -> tuple[str, str]:
    """The wave's partitions of ``responses`` and ``answer_values`` (``None``: the
    default partitions, the rows without a wave)."""
    if wave_id is None:
        return "responses_default", "answer_values_default"
    return f"responses_w{int(wave_id)}", f"answer_values_w{int(wave_id)}"


def analyze_waves(connection: Connection, wave_ids: Iterable[int | None]) -> None:
    """Fresh planner statistics for the waves' partitions and ``response_keys``
    (PostgreSQL; nothing elsewhere), after a bulk load (:data:`ANALYZE_AFTER` rows).

    A partition made by the load has none until autovacuum's next visit, up to a
    minute later: the fold that follows then planned its aggregation over the
    loaded rows as if the tables were empty (72 s instead of 0.16 s for the demo's
    kiosk wave). ``None`` is the default partition (rows without a wave).
    """
    if connection.dialect.name != "postgresql":
        return
    waves = set(wave_ids)
    tables = ["response_keys"]
    for wave_id in sorted(waves, key=lambda wave: (wave is None, wave or 0)):
        tables.extend(partition_names(wave_id))
    connection.execute(text("ANALYZE " + ", ".join(tables)))


def detach_wave(connection: Connection, wave_id: int) -> tuple[str, str]:
    """Detach a wave's two partitions (PostgreSQL); returns their names, now plain tables.

    The answers' partition goes first, then the responses' partition. The client
    ids stay in ``response_keys``, so a late resend of an archived response is still not
    stored twice; the wave's folded sums stay in ``figure_sums``. Its responses still
    waiting for a fold keep their rows in the store's queue, which no fold or page
    finds without the responses, and which are folded if the wave is attached again.
    The caller commits.
    """
    if connection.dialect.name != "postgresql":
        raise PartitionError("partitions exist on PostgreSQL only", reason="not_postgresql")
    responses, answers = partition_names(wave_id)
    attached = set(
        connection.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE c.relname IN (:r, :a)"
            ),
            {"r": responses, "a": answers},
        ).scalars()
    )
    if attached != {responses, answers}:
        raise PartitionError(
            f"wave {wave_id} has no attached partitions {responses}, {answers}",
            reason="not_attached",
        )
    connection.execute(text(f"ALTER TABLE answer_values DETACH PARTITION {answers}"))
    connection.execute(text(f"ALTER TABLE responses DETACH PARTITION {responses}"))
    # the detached tables keep the triggers' clones; an archive must not fire them
    connection.execute(text(f"DROP TRIGGER IF EXISTS response_keys_claim ON {responses}"))
    connection.execute(text(f"DROP TRIGGER IF EXISTS response_keys_release ON {responses}"))
    connection.execute(text(f"DROP TRIGGER IF EXISTS response_keys_follow ON {responses}"))
    return responses, answers


class PartitionError(ValueError):
    """A partition operation that cannot be done: ``reason`` is ``not_postgresql`` or
    ``not_attached`` (the wave's partitions are not attached: detached already)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
