"""Roles of DESIGN.md §1 and the permissions each one holds: the single table every check reads.

A route never tests a role; it asks for a permission (`require(Permission.X)` in `cordon.api.security`), and this
table says which roles hold it. The permission-matrix test walks every route with every role against it.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role. Camera and edge units are not people: they hold camera keys, never a role."""

    OPERATOR = "operator"
    INVESTIGATOR = "investigator"
    TRAFFIC_ANALYST = "traffic_analyst"
    GAS_OFFICER = "gas_officer"
    BIN_COORDINATOR = "bin_coordinator"
    BIN_MEMBER = "bin_member"
    DPO = "dpo"
    ADMIN = "admin"


class Permission(StrEnum):
    """One thing a person may do. Names read `area.verb`."""

    ALERTS_READ = "alerts.read"  # live alerts and their life cycle
    ALERTS_ACK = "alerts.ack"  # acknowledge and close alerts
    BOLLARDS_OVERRIDE = "bollards.override"  # lower/raise a bollard by hand (logged with who and why)
    READS_SEARCH = "reads.search"  # passages, through the consultation door
    PATTERNS_RUN = "patterns.run"  # convoy, short visits, area presence, timelines
    EVIDENCE_EXPORT = "evidence.export"  # ZIP exports with manifest
    HOTLISTS_MANAGE = "hotlists.manage"  # lists and entries
    DECISIONS_MANAGE = "decisions.manage"  # prosecutor decisions and legal holds
    VIOLATIONS_REVIEW = "violations.review"  # review queue: section control, truck lock, access
    FLOWS_READ = "flows.read"  # anonymised traffic aggregates only
    BIN_SEND = "bin.send"  # warnings to BIN / BIN-Z groups
    BIN_MEMBER = "bin.member"  # own messages and reports
    AUDIT_READ = "audit.read"  # audit trail, retention and access reports
    CONFIG_MANAGE = "config.manage"  # cameras, sites, zones, rules, permits
    USERS_MANAGE = "users.manage"  # accounts and roles
    HEALTH_READ = "health.read"  # network health: camera rejections, gap rates


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(
        {
            Permission.ALERTS_READ,
            Permission.ALERTS_ACK,
            Permission.BOLLARDS_OVERRIDE,
            Permission.READS_SEARCH,
            Permission.HEALTH_READ,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {
            Permission.ALERTS_READ,
            Permission.ALERTS_ACK,
            Permission.READS_SEARCH,
            Permission.PATTERNS_RUN,
            Permission.EVIDENCE_EXPORT,
            Permission.HOTLISTS_MANAGE,
            Permission.DECISIONS_MANAGE,
            Permission.VIOLATIONS_REVIEW,
        }
    ),
    Role.TRAFFIC_ANALYST: frozenset({Permission.FLOWS_READ}),
    Role.GAS_OFFICER: frozenset({Permission.VIOLATIONS_REVIEW}),
    Role.BIN_COORDINATOR: frozenset({Permission.BIN_SEND}),
    Role.BIN_MEMBER: frozenset({Permission.BIN_MEMBER}),
    Role.DPO: frozenset({Permission.AUDIT_READ}),
    Role.ADMIN: frozenset({Permission.CONFIG_MANAGE, Permission.USERS_MANAGE, Permission.HEALTH_READ}),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether `role` holds `permission`."""
    return permission in ROLE_PERMISSIONS[role]
