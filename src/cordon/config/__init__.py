"""Configuration: the zone file (what is watched, and the rules) and the process settings."""

from cordon.config.loader import ConfigError, ConfigIssue, load_zone, parse_zone
from cordon.config.zone import Camera, Gate, Lane, Purpose, Section, Site, ZoneConfig

__all__ = [
    "Camera",
    "ConfigError",
    "ConfigIssue",
    "Gate",
    "Lane",
    "Purpose",
    "Section",
    "Site",
    "ZoneConfig",
    "load_zone",
    "parse_zone",
]
