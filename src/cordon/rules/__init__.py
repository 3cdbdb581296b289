"""Rules: plugins chosen by `type` in the zone file, each a pure decision over a read and its plate's state."""

from cordon.rules.base import NOTHING, Decision, Rule, merge, stable_id
from cordon.rules.engine import RuleEngine, build_rules, rule_types

__all__ = ["NOTHING", "Decision", "Rule", "RuleEngine", "build_rules", "merge", "rule_types", "stable_id"]
