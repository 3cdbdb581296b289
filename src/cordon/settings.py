"""Process settings: where data live, which ports, limits on input. Read from `CORDON_*` variables.

Nested settings use a double underscore: `CORDON_MQTT__HOST=broker.local`, `CORDON_INGEST__MAX_BATCH=500`.
Settings are built by `Settings()` in the entry points only (never at import time) and passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Section):
    """Limits that protect ingest from bad or hostile input."""

    max_batch: int = Field(default=1000, ge=1, le=10_000, description="Most reads in one request or message.")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest request body, bytes.")
    max_image_bytes: int = Field(default=512 * 1024, ge=1024, description="Largest plate image, bytes.")
    max_future_s: float = Field(default=300, ge=0, description="Reads dated further ahead are refused, s.")
    max_age_s: float = Field(
        default=30 * 86_400, gt=0, description="Reads older than this are refused (edge backlogs), s."
    )
    commit_delay_ms: float = Field(
        default=0.0, ge=0, le=100, description="Extra wait to group concurrent reads in one commit, ms."
    )


class MqttSettings(_Section):
    """The MQTT broker cameras and bollard controllers talk to."""

    enabled: bool = Field(default=False, description="Subscribe to camera reads on the broker.")
    host: str = Field(default="127.0.0.1", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    client_id: str = Field(default="cordon-ingest", description="Client id (persistent session).")
    username: str | None = Field(default=None, description="Broker user name.")
    password: SecretStr | None = Field(default=None, description="Broker password.")
    topic_prefix: str = Field(default="cordon", description="First topic segment of every Cordon topic.")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keep-alive, seconds.")


class Settings(BaseSettings):
    """Everything a Cordon process needs to know that is not the zone itself."""

    model_config = SettingsConfigDict(env_prefix="CORDON_", env_nested_delimiter="__", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = Field(
        default="development", description="`production` refuses unsafe defaults."
    )
    data_dir: Path = Field(default=Path("data"), description="Folder for the database and images.")
    zone_file: Path | None = Field(default=None, description="Zone YAML file.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; default: SQLite in data_dir."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL", description="FULL survives power loss; NORMAL only process crashes."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="Port the API listens on (0: any free).")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingest limits.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT broker.")

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Self:
        if self.environment == "production":
            if self.zone_file is None:
                raise ValueError("production needs an explicit zone_file")
            if self.mqtt.enabled and self.mqtt.password is None:
                raise ValueError("production refuses an MQTT broker without a password")
        return self

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded store lives."""
        return self.data_dir / "cordon.sqlite3"

    @property
    def images_dir(self) -> Path:
        """Where plate images are kept, by content hash."""
        return self.data_dir / "images"

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the store."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"
