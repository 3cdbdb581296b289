"""Process settings: where data live, which ports, limits on input. Read from `CORDON_*` variables.

Nested settings use a double underscore: `CORDON_MQTT__HOST=broker.local`, `CORDON_INGEST__MAX_BATCH=500`.
Settings are built by `Settings()` in the entry points only (never at import time) and passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cordon.auth.roles import Role


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


class RulesSettings(_Section):
    """The zone's rules in `cordon serve`: where their reference data come from and where decisions go."""

    enabled: bool = Field(default=True, description="Run the zone's rules on stored reads.")
    grace_s: float = Field(
        default=120, ge=0, le=3600, description="How late a read may arrive and still count in event-time order, s."
    )
    reference_dir: Path | None = Field(
        default=None,
        description="Folder of reference CSV files (hotlist.csv, permits.csv, vehicle-registry.csv, "
        "camera-clock.csv), loaded at start.",
    )
    save_batch_ms: float = Field(
        default=100,
        ge=0,
        le=5000,
        description="Decisions are saved in batches gathered over this long (0: each at once); commands are "
        "published before, never delayed by it.",
    )
    mqtt_out: bool = Field(
        default=False,
        description="Publish alerts (`cordon/alerts/{category}`) and bollard commands "
        "(`cordon/bollards/{id}/command`) on the MQTT broker, QoS 1.",
    )


class AuthSettings(_Section):
    """People's accounts: password hashing, second factor, sessions, lock-out (docs/security.md)."""

    password_min_length: int = Field(default=12, ge=8, le=256, description="Shortest password accepted.")
    argon2_time_cost: int = Field(default=3, ge=1, le=20, description="argon2id passes (RFC 9106: 3).")
    argon2_memory_kib: int = Field(
        default=65536, ge=1024, le=4 * 1024 * 1024, description="argon2id memory, KiB (RFC 9106: 64 MiB)."
    )
    argon2_parallelism: int = Field(default=4, ge=1, le=64, description="argon2id lanes.")
    session_idle_s: int = Field(default=1800, ge=60, le=86_400, description="A session unused this long expires, s.")
    session_absolute_s: int = Field(
        default=43_200, ge=300, le=7 * 86_400, description="A session expires this long after login, s."
    )
    lockout_threshold: int = Field(default=5, ge=1, le=100, description="Failed logins in a row that lock an account.")
    lockout_s: int = Field(default=900, ge=1, le=7 * 86_400, description="How long a lock-out lasts, s.")
    totp_required_roles: tuple[Role, ...] = Field(
        default=(Role.INVESTIGATOR, Role.ADMIN), description="Roles that must log in with a TOTP code (JSON list)."
    )
    totp_issuer: str = Field(default="Cordon", min_length=1, description="Issuer shown in authenticator apps.")
    totp_window: int = Field(default=1, ge=0, le=4, description="TOTP steps (30 s) accepted either side of now.")


class TlsSettings(_Section):
    """HTTPS served by Cordon itself, where no reverse proxy stands in front of it (docs/security.md)."""

    cert_file: Path | None = Field(
        default=None, description="PEM certificate (chain) of the API; with key_file, the API speaks only HTTPS."
    )
    key_file: Path | None = Field(default=None, description="PEM private key of cert_file.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls needs both cert_file and key_file, or neither")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @property
    def scheme(self) -> str:
        """The API's URL scheme."""
        return "https" if self.enabled else "http"


class AuditSettings(_Section):
    """The audit trail's anchors and the DPO report's thresholds (docs/security.md)."""

    signing_key_file: Path | None = Field(
        default=None, description="Ed25519 key signing checkpoints (created if absent); default: data_dir."
    )
    checkpoint_dir: Path | None = Field(
        default=None, description="Where checkpoints are exported; default: data_dir/audit-checkpoints."
    )
    checkpoint_every_s: float = Field(
        default=3600, ge=0, description="Sign and export a checkpoint this often in `cordon serve` (0: never), s."
    )
    timezone: str = Field(default="Europe/Brussels", description="Local time of the report's working hours.")
    working_hours: tuple[int, int] = Field(
        default=(7, 19), description="Local hours [start, end) outside which a consultation is off-hours."
    )
    weekends_off_hours: bool = Field(default=True, description="Saturday and Sunday count as off-hours.")
    large_result_count: int = Field(
        default=500, ge=1, description="A consultation returning at least this many results is unusually large."
    )


class FlowsSettings(_Section):
    """Traffic flows on anonymised data (`cordon.flows`): a separate store, a daily secret, small cells hidden."""

    enabled: bool = Field(default=True, description="Record an anonymised flow record for every stored read.")
    database_path: Path | None = Field(
        default=None, description="SQLite file of the flow store; default: flows.sqlite3 in data_dir."
    )
    secret_dir: Path | None = Field(
        default=None,
        description="Folder of the day's secret (0600 file, destroyed when the day ends); default: "
        "data_dir/flows-secret. Unset `persist_secret` to keep it in memory only.",
    )
    persist_secret: bool = Field(
        default=True, description="Keep the day's secret on disk so a restart within the day still links."
    )
    grace_minutes: float = Field(
        default=15, ge=0, le=120, description="Late reads of a day still linked this long after local midnight."
    )
    k_threshold: int = Field(default=5, ge=2, le=1000, description="Cells counting fewer are suppressed (k).")
    through_minutes: float = Field(
        default=15, gt=0, le=240, description="In and out within this many minutes is through traffic."
    )
    statistics_cameras_only: bool = Field(
        default=True, description="Only cameras whose authorised purposes include `traffic_statistics`."
    )
    raw_retention_days: int = Field(
        default=31,
        ge=1,
        le=3650,
        description="Days the raw flow records (with their day's token) are kept; counts and trips stay.",
    )


class InvestigateSettings(_Section):
    """Investigation upkeep in `cordon serve`: the search index and retention (docs/investigation.md)."""

    index_every_s: float = Field(
        default=5, ge=0, le=3600, description="Seconds between search-index catch-ups (0: never in serve)."
    )
    retention_every_s: float = Field(
        default=3600, ge=0, le=7 * 86_400, description="Seconds between retention runs (0: never in serve)."
    )


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
    sqlite_busy_timeout_s: float = Field(
        default=30, gt=0, le=600, description="How long a write waits for the database lock before it fails, s."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="Port the API listens on (0: any free).")
    tls: TlsSettings = Field(default_factory=TlsSettings, description="HTTPS without a reverse proxy.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingest limits.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT broker.")
    flows: FlowsSettings = Field(default_factory=FlowsSettings, description="Anonymised traffic flows.")
    rules: RulesSettings = Field(default_factory=RulesSettings, description="Rules and their decisions.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="People's accounts.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit trail.")
    investigate: InvestigateSettings = Field(
        default_factory=InvestigateSettings, description="Search index and retention upkeep."
    )

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Self:
        if self.environment == "production":
            if self.zone_file is None:
                raise ValueError("production needs an explicit zone_file")
            if self.mqtt.enabled and self.mqtt.password is None:
                raise ValueError("production refuses an MQTT broker without a password")
            if self.audit.signing_key_file is None:
                raise ValueError("production needs audit.signing_key_file, kept off the data folder")
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
    def store_url_for_logs(self) -> str:
        """`store_url` with any password masked: what a log or a message may show."""
        from sqlalchemy.engine import make_url

        return make_url(self.store_url).render_as_string(hide_password=True)

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the store."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def audit_signing_key_path(self) -> Path:
        """The Ed25519 key that signs audit checkpoints (keep a copy of its public half with the DPO)."""
        return self.audit.signing_key_file or self.data_dir / "audit-signing.key"

    @property
    def audit_checkpoint_dir(self) -> Path:
        """Where signed audit checkpoints are exported."""
        return self.audit.checkpoint_dir or self.data_dir / "audit-checkpoints"
