"""Decisions of the rules (alerts with their life cycle, violations with their review, findings, device
commands) and the reference data the rules read (hotlist entries, permits, vehicle registry).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Decision ids are the rules' stable ids (`cordon.rules.base.stable_id`): re-deciding after a restart
# inserts nothing new, which is how a restart raises no duplicate alert.
DecisionId = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", DecisionId, primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_type", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("observed_us", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),  # the Alert as raised (JSON)
        sa.Column("acknowledged_by", sa.String(128)),
        sa.Column("acknowledged_us", sa.BigInteger()),
        sa.Column("closed_by", sa.String(128)),
        sa.Column("closed_us", sa.BigInteger()),
        sa.Column("outcome", sa.String(32)),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_alerts_state_time", "alerts", ["state", "observed_us"])
    op.create_index("ix_alerts_plate", "alerts", ["plate", "observed_us"])
    op.create_table(
        "violations",
        sa.Column("violation_id", DecisionId, primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_type", sa.String(32), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("observed_us", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("review_state", sa.String(16), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),  # the Violation as found (JSON)
        sa.Column("reviewed_by", sa.String(128)),
        sa.Column("reviewed_us", sa.BigInteger()),
        sa.Column("review_reason", sa.Text()),
    )
    op.create_index("ix_violations_queue", "violations", ["review_state", "route", "observed_us"])
    op.create_table(
        "findings",
        sa.Column("finding_id", DecisionId, primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("observed_us", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
    )
    op.create_index("ix_findings_kind_time", "findings", ["kind", "observed_us"])
    op.create_table(
        "commands",
        sa.Column("command_id", DecisionId, primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("issued_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),  # rule | manual
        sa.Column("actor", sa.String(128)),  # who, for a manual override
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("delivery", sa.String(16), nullable=False),  # pending | published | expired | failed
        sa.Column("delivered_us", sa.BigInteger()),
    )
    op.create_index("ix_commands_device_time", "commands", ["device_id", "issued_us"])
    op.create_table(
        "hotlists",
        sa.Column("list_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),  # who answers for the list (service, magistrate)
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "hotlist_entries",
        sa.Column("list_id", sa.String(64), primary_key=True),
        sa.Column("entry_id", sa.String(128), primary_key=True),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_hotlist_entries_plate", "hotlist_entries", ["plate"])
    op.create_table(
        "permits",
        sa.Column("permit_id", sa.String(128), primary_key=True),
        sa.Column("permit_type", sa.String(16), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("valid_from_us", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_us", sa.BigInteger(), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("issuer", sa.String(128), nullable=False),
        sa.Column("added_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_permits_plate", "permits", ["plate"])
    op.create_table(
        "camera_clock",  # each camera's reported clock offset (NTP status), for section-control evidence
        sa.Column("camera_id", sa.String(64), primary_key=True),
        sa.Column("at_us", sa.BigInteger(), primary_key=True),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "vehicle_registry",
        sa.Column("plate", sa.String(16), primary_key=True),
        sa.Column("category", sa.String(8), nullable=False),
        sa.Column("vehicle_type", sa.String(32), nullable=False),
        sa.Column("max_mass_kg", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vehicle_registry")
    op.drop_table("camera_clock")
    op.drop_index("ix_permits_plate", table_name="permits")
    op.drop_table("permits")
    op.drop_index("ix_hotlist_entries_plate", table_name="hotlist_entries")
    op.drop_table("hotlist_entries")
    op.drop_table("hotlists")
    op.drop_index("ix_commands_device_time", table_name="commands")
    op.drop_table("commands")
    op.drop_index("ix_findings_kind_time", table_name="findings")
    op.drop_table("findings")
    op.drop_index("ix_violations_queue", table_name="violations")
    op.drop_table("violations")
    op.drop_index("ix_alerts_plate", table_name="alerts")
    op.drop_index("ix_alerts_state_time", table_name="alerts")
    op.drop_table("alerts")
