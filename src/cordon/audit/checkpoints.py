"""Checkpoints anchor the audit chain: the head hash and the entry count at a moment, signed with Ed25519.

The signing key lives in a file outside the database (`CORDON_AUDIT__SIGNING_KEY_FILE`), created on first use
with mode 0600. A checkpoint exported to a file the DPO keeps (`cordon audit checkpoint --out`) proves later
that the trail held at least `seq` entries ending in `head_hash`: cutting the tail, or rewriting history and
re-hashing every entry after it, no longer matches. The file carries the public key; the DPO compares its
`key_id` with the one noted when the platform was installed (or pins the key with `--public-key`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from cordon.errors import CordonError
from cordon.timeutil import isoformat_z, parse_instant

FORMAT = "cordon-audit-checkpoint/1"


def key_id_of(public_key: bytes) -> str:
    """A short fingerprint of a raw Ed25519 public key (first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain had `seq` entries, the last one hashing to `head_hash`, at `at`; signed by key `key_id`."""

    seq: int
    head_hash: str
    at: datetime
    key_id: str
    signature: str  # hex
    public_key: str = ""  # raw Ed25519 public key, hex (in exported files)

    def message(self) -> bytes:
        """The signed bytes."""
        return f"{FORMAT}|{self.seq}|{self.head_hash}|{isoformat_z(self.at)}".encode()

    def verify(self, public_key: bytes | None = None) -> bool:
        """Whether the signature holds, with `public_key` (raw) or the one the checkpoint carries."""
        raw = public_key if public_key is not None else bytes.fromhex(self.public_key)
        if key_id_of(raw) != self.key_id:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "at": isoformat_z(self.at),
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": self.signature,
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def from_json(cls, data: bytes, source: str = "checkpoint") -> Checkpoint:
        try:
            body: dict[str, Any] = orjson.loads(data)
            if body.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            return cls(
                seq=int(body["seq"]),
                head_hash=str(body["head_hash"]),
                at=parse_instant(body["at"]),
                key_id=str(body["key_id"]),
                signature=str(body["signature"]),
                public_key=str(body.get("public_key", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CordonError("invalid_checkpoint", f"{source} is not a Cordon audit checkpoint: {exc}") from None

    @classmethod
    def read(cls, path: Path) -> Checkpoint:
        try:
            return cls.from_json(path.read_bytes(), str(path))
        except OSError as exc:
            raise CordonError("invalid_checkpoint", f"cannot read {path}: {exc.strerror}") from None


class CheckpointSigner:
    """Signs checkpoints with the Ed25519 key kept in a file outside the database."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def load_or_create(cls, path: Path) -> CheckpointSigner:
        """The key in `path`, created there (mode 0600) when the file does not exist yet."""
        if path.exists():
            try:
                key = load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError) as exc:
                raise CordonError("invalid_signing_key", f"cannot load the audit signing key {path}: {exc}") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise CordonError("invalid_signing_key", f"{path} is not an Ed25519 private key")
            return cls(key)
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        return cls(key)

    def sign(self, seq: int, head_hash: str, at: datetime) -> Checkpoint:
        unsigned = Checkpoint(seq, head_hash, at, self.key_id, "", self.public_key.hex())
        signature = self._key.sign(unsigned.message()).hex()
        return Checkpoint(seq, head_hash, at, self.key_id, signature, self.public_key.hex())

    def public_key_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.public_key).public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )


def load_public_key(path: Path) -> bytes:
    """A raw Ed25519 public key from a PEM file (as `cordon audit public-key` writes it)."""
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CordonError("invalid_public_key", f"cannot load the public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CordonError("invalid_public_key", f"{path} is not an Ed25519 public key")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
