"""Ingest: vendor formats to `PlateRead`, authentication, validation, durable group commit."""
