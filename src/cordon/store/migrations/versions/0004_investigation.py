"""Investigation: prosecutor decisions, legal holds, the distinct-plate and candidate indexes for search.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

`plate_index` holds each distinct stored plate once, with its look-alike key and the key reversed, so a
wildcard or fuzzy search scans (or range-scans) a few million distinct plates instead of every read. A trigger
on `reads` keeps it: one `INSERT ... DO NOTHING` on a small B-tree per stored read. `read_candidates` holds
the look-alike key of each top-N candidate that differs from the read's plate (one row per such candidate).
bench/search.py measures what both cost at ingest. Retention prunes plates that have no read left; deleting a
read deletes its candidate rows (trigger).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The look-alike key of cordon.plates.lookalike_key, in SQL: each class mapped to its digit.
LOOKALIKE_FROM = "ODQILTZSGB"
LOOKALIKE_TO = "0001112568"


def sqlite_lookalike(expression: str) -> str:
    """`lookalike_key(expression)` as nested SQLite `replace()` calls (SQLite has no `translate`)."""
    for source, target in zip(LOOKALIKE_FROM, LOOKALIKE_TO, strict=True):
        expression = f"replace({expression}, '{source}', '{target}')"
    return expression


def sqlite_reverse(expression: str, length: int = 10) -> str:
    """The string reversed, for plates of at most `length` characters (SQLite has no `reverse`). The look-alike
    key maps character by character, so the key of the reversed plate is the reversed key."""
    return " || ".join(f"substr({expression}, {-i}, 1)" for i in range(1, length + 1))


_SQLITE_KEY = sqlite_lookalike("NEW.plate")
_SQLITE_TRIGGER = (
    # most reads are of a plate seen before: one primary-key probe, and the keys are computed only for new ones
    "CREATE TRIGGER reads_plate_index AFTER INSERT ON reads "  # noqa: S608 - constants, no input
    "WHEN NOT EXISTS (SELECT 1 FROM plate_index WHERE plate = NEW.plate) BEGIN "
    "INSERT OR IGNORE INTO plate_index (plate, lookalike, lookalike_rev) "
    f"VALUES (NEW.plate, {_SQLITE_KEY}, {sqlite_lookalike(sqlite_reverse('NEW.plate'))}); END"
)
_SQLITE_BACKFILL = (
    "INSERT OR IGNORE INTO plate_index (plate, lookalike, lookalike_rev) "  # noqa: S608
    f"SELECT plate, {sqlite_lookalike('plate')}, {sqlite_lookalike(sqlite_reverse('plate'))} "
    "FROM (SELECT DISTINCT plate FROM reads)"
)
_CANDIDATE = "json_extract(value, '$[0]')"
_SQLITE_CANDIDATES = (
    "CREATE TRIGGER reads_candidate_index AFTER INSERT ON reads WHEN NEW.candidates IS NOT NULL BEGIN "  # noqa: S608 - constants, no input
    "INSERT OR IGNORE INTO read_candidates (lookalike, read_id) "
    f"SELECT {sqlite_lookalike(_CANDIDATE)}, NEW.id FROM json_each(NEW.candidates) WHERE {_CANDIDATE} != NEW.plate; "
    "END"
)
_SQLITE_CANDIDATES_DELETE = (
    "CREATE TRIGGER reads_candidate_delete AFTER DELETE ON reads WHEN OLD.candidates IS NOT NULL BEGIN "  # noqa: S608 - constants, no input
    "DELETE FROM read_candidates WHERE read_id = OLD.id AND lookalike IN "
    f"(SELECT {sqlite_lookalike(_CANDIDATE)} FROM json_each(OLD.candidates)); END"
)
_SQLITE_CANDIDATES_BACKFILL = (
    "INSERT OR IGNORE INTO read_candidates (lookalike, read_id) "  # noqa: S608 - constants, no input
    f"SELECT {sqlite_lookalike(_CANDIDATE)}, reads.id FROM reads, json_each(reads.candidates) "
    f"WHERE reads.candidates IS NOT NULL AND {_CANDIDATE} != reads.plate"
)
_PG_KEY = f"translate(NEW.plate, '{LOOKALIKE_FROM}', '{LOOKALIKE_TO}')"
_PG_FUNCTION = (
    "CREATE FUNCTION cordon_plate_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
    "INSERT INTO plate_index (plate, lookalike, lookalike_rev) "
    f"VALUES (NEW.plate, {_PG_KEY}, reverse({_PG_KEY})) ON CONFLICT DO NOTHING; RETURN NEW; END $$"
)
_PG_CANDIDATE_KEY = f"translate(c->>0, '{LOOKALIKE_FROM}', '{LOOKALIKE_TO}')"
_PG_CANDIDATES_FUNCTION = (
    "CREATE FUNCTION cordon_candidate_index() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 - constants, no input
    "IF TG_OP = 'INSERT' AND NEW.candidates IS NOT NULL THEN "
    "INSERT INTO read_candidates (lookalike, read_id) "
    f"SELECT {_PG_CANDIDATE_KEY}, NEW.id FROM jsonb_array_elements(NEW.candidates::jsonb) c "
    "WHERE c->>0 <> NEW.plate ON CONFLICT DO NOTHING; "
    "ELSIF TG_OP = 'DELETE' AND OLD.candidates IS NOT NULL THEN "
    f"DELETE FROM read_candidates WHERE read_id = OLD.id AND lookalike IN (SELECT {_PG_CANDIDATE_KEY} "
    "FROM jsonb_array_elements(OLD.candidates::jsonb) c); END IF; RETURN NULL; END $$"
)
_PG_CANDIDATES_TRIGGER = (
    "CREATE TRIGGER reads_candidate_index AFTER INSERT OR DELETE ON reads FOR EACH ROW "
    "EXECUTE FUNCTION cordon_candidate_index()"
)
_PG_CANDIDATES_BACKFILL = (
    "INSERT INTO read_candidates (lookalike, read_id) "  # noqa: S608 - constants, no input
    f"SELECT {_PG_CANDIDATE_KEY}, reads.id FROM reads, jsonb_array_elements(reads.candidates::jsonb) c "
    "WHERE reads.candidates IS NOT NULL AND c->>0 <> reads.plate ON CONFLICT DO NOTHING"
)
_PG_TRIGGER = (
    "CREATE TRIGGER reads_plate_index AFTER INSERT ON reads FOR EACH ROW EXECUTE FUNCTION cordon_plate_index()"
)
_PG_BACKFILL = (
    "INSERT INTO plate_index (plate, lookalike, lookalike_rev) "  # noqa: S608
    f"SELECT plate, translate(plate, '{LOOKALIKE_FROM}', '{LOOKALIKE_TO}'), "
    f"reverse(translate(plate, '{LOOKALIKE_FROM}', '{LOOKALIKE_TO}')) FROM (SELECT DISTINCT plate FROM reads) d "
    "ON CONFLICT DO NOTHING"
)


def upgrade() -> None:
    op.create_table(
        "prosecutor_decisions",
        sa.Column("reference", sa.String(100), primary_key=True),
        sa.Column("magistrate", sa.String(200), nullable=False),
        sa.Column("case_reference", sa.String(200)),
        sa.Column("plates", sa.Text(), nullable=False, server_default=""),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("document_sha256", sa.String(64)),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger()),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_reference", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("released_us", sa.BigInteger()),
    )
    op.create_table(
        "legal_hold_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("hold_id", BigId, sa.ForeignKey("legal_holds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("plate", sa.String(16)),
        sa.Column("read_id", sa.BigInteger()),
    )
    op.create_index("ix_legal_hold_items_hold", "legal_hold_items", ["hold_id"])
    op.create_table(
        "plate_index",
        sa.Column("plate", sa.String(16), primary_key=True),
        sa.Column("lookalike", sa.String(16), nullable=False),
        sa.Column("lookalike_rev", sa.String(16), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_plate_index_lookalike", "plate_index", ["lookalike"])
    # The reads' other top-N candidates, by look-alike key: a fuzzy search finds a read whose best reading
    # was wrong but whose alternatives hold the plate sought.
    op.create_table(
        "read_candidates",
        sa.Column("lookalike", sa.String(16), primary_key=True),
        sa.Column("read_id", sa.BigInteger(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_plate_index_lookalike_rev", "plate_index", ["lookalike_rev"])
    # Images of deleted reads are removed only when no other read still refers to them (content-addressed).
    op.create_index(
        "ix_reads_image",
        "reads",
        ["image_ref"],
        sqlite_where=sa.text("image_ref IS NOT NULL"),
        postgresql_where=sa.text("image_ref IS NOT NULL"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in (_SQLITE_BACKFILL, _SQLITE_TRIGGER, _SQLITE_CANDIDATES_BACKFILL, _SQLITE_CANDIDATES,
                          _SQLITE_CANDIDATES_DELETE):  # fmt: skip
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in (_PG_BACKFILL, _PG_FUNCTION, _PG_TRIGGER, _PG_CANDIDATES_BACKFILL, _PG_CANDIDATES_FUNCTION,
                          _PG_CANDIDATES_TRIGGER):  # fmt: skip
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("reads_plate_index", "reads_candidate_index", "reads_candidate_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    elif dialect == "postgresql":
        for trigger, function in (("reads_plate_index", "cordon_plate_index"),
                                  ("reads_candidate_index", "cordon_candidate_index")):  # fmt: skip
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON reads")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index("ix_reads_image", table_name="reads")
    op.drop_table("read_candidates")
    op.drop_index("ix_plate_index_lookalike_rev", table_name="plate_index")
    op.drop_index("ix_plate_index_lookalike", table_name="plate_index")
    op.drop_table("plate_index")
    op.drop_index("ix_legal_hold_items_hold", table_name="legal_hold_items")
    op.drop_table("legal_hold_items")
    op.drop_table("legal_holds")
    op.drop_table("prosecutor_decisions")
