"""The HTTP API (FastAPI), built by `create_app(settings)`."""

from cordon.api.app import create_app

__all__ = ["create_app"]
