"""Reads, camera keys and rejection counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Integer primary keys: 64-bit on PostgreSQL, SQLite's rowid alias on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reads",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_time_us", sa.BigInteger(), nullable=False),
        sa.Column("ingest_time_us", sa.BigInteger(), nullable=False),
        sa.Column("plate_as_read", sa.String(64), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("confidence", sa.Float()),
        sa.Column("candidates", sa.Text()),
        sa.Column("bbox", sa.Text()),
        sa.Column("lane_id", sa.String(16)),
        sa.Column("direction", sa.String(8)),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("vehicle_type", sa.String(16)),
        sa.Column("speed", sa.Float()),
        sa.Column("image_ref", sa.String(64)),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.UniqueConstraint("camera_id", "event_id", name="uq_reads_camera_event"),
    )
    op.create_index("ix_reads_plate_time", "reads", ["plate", "event_time_us"])
    op.create_index("ix_reads_camera_time", "reads", ["camera_id", "event_time_us"])
    op.create_table(
        "camera_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_us", sa.BigInteger()),
    )
    op.create_index("ix_camera_keys_camera", "camera_keys", ["camera_id"])
    op.create_table(
        "camera_rejections",
        sa.Column("camera_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("camera_rejections")
    op.drop_index("ix_camera_keys_camera", table_name="camera_keys")
    op.drop_table("camera_keys")
    op.drop_index("ix_reads_camera_time", table_name="reads")
    op.drop_index("ix_reads_plate_time", table_name="reads")
    op.drop_table("reads")
