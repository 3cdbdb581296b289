"""Investigation: prosecutor decisions, legal holds, the distinct-plate and candidate indexes for search.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

`plate_index` holds each distinct stored plate once, with its look-alike key and the key reversed, so a
wildcard or fuzzy search scans (or range-scans) a few million distinct plates instead of every read.
`read_candidates` holds the look-alike key of each top-N candidate of a read that differs from its plate.
Neither is touched by ingest: `cordon.investigate.index.SearchIndex.catch_up` fills them in batches from
the reads stored since `search_index_state.last_read_id`, and searches read the few reads past that cursor
directly, so they are complete at any moment. (Triggers on `reads` would have done it at insert time, at half
the durable append throughput: bench/search.py, docs/benchmarks.md.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


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
    op.create_index("ix_plate_index_lookalike_rev", "plate_index", ["lookalike_rev"])
    op.create_table(
        "read_candidates",
        sa.Column("lookalike", sa.String(16), primary_key=True),
        sa.Column("read_id", sa.BigInteger(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_read_candidates_read", "read_candidates", ["read_id"])
    op.create_table(
        "search_index_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_read_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(
        sa.table("search_index_state", sa.column("name"), sa.column("last_read_id"), sa.column("updated_us")),
        [{"name": "plates", "last_read_id": 0, "updated_us": 0}],
    )
    # Images of deleted reads are removed only when no other read still refers to them (content-addressed).
    op.create_index(
        "ix_reads_image",
        "reads",
        ["image_ref"],
        sqlite_where=sa.text("image_ref IS NOT NULL"),
        postgresql_where=sa.text("image_ref IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_reads_image", table_name="reads")
    op.drop_table("search_index_state")
    op.drop_index("ix_read_candidates_read", table_name="read_candidates")
    op.drop_table("read_candidates")
    op.drop_index("ix_plate_index_lookalike_rev", table_name="plate_index")
    op.drop_index("ix_plate_index_lookalike", table_name="plate_index")
    op.drop_table("plate_index")
    op.drop_index("ix_legal_hold_items_hold", table_name="legal_hold_items")
    op.drop_table("legal_hold_items")
    op.drop_table("legal_holds")
    op.drop_table("prosecutor_decisions")
