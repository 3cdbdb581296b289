"""Cordon: a lawful, zone-wide ANPR platform for Belgian police zones and municipalities."""

__version__ = "0.1.0"
