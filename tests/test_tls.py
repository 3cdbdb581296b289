"""HTTPS: `cordon serve` with its own certificate, and an edge camera that trusts the zone's own authority.

The certificates are made here, for this run: an authority and a server certificate for 127.0.0.1 signed by it,
as a police zone's internal PKI would issue them."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from cordon.cli import cli
from cordon.recognize.edge import DiskQueue, Sender
from cordon.recognize.output import event_id_for, to_read_in
from cordon.recognize.stages import Box, Candidate, Recognition
from cordon.runtime import build_runtime
from cordon.server import ServerThread, free_port
from cordon.settings import Settings, TlsSettings
from tests.conftest import SMALL_ZONE
from tests.test_serve import wait_until_up


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path
    other_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    authority = _name("PZ Demostad internal CA")
    ca = (
        x509.CertificateBuilder().subject_name(authority).issuer_name(authority)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server_key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("cordon.pz-demostad.local")).issuer_name(ca.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pki(
        ca=folder / "ca.pem",
        cert=folder / "server.pem",
        key=_pem_key(server_key, folder / "server.key"),
        other_key=_pem_key(ec.generate_private_key(ec.SECP256R1()), folder / "other.key"),
    )


def test_tls_settings_need_both_files(pki: Pki) -> None:
    with pytest.raises(ValidationError, match="both cert_file and key_file"):
        TlsSettings(cert_file=pki.cert)
    assert TlsSettings(cert_file=pki.cert, key_file=pki.key).enabled
    assert not TlsSettings().enabled


def test_a_logged_store_url_hides_its_password() -> None:
    settings = Settings(database_url="postgresql+psycopg://cordon:s3cret@db.pz.local/cordon")
    assert settings.store_url_for_logs == "postgresql+psycopg://cordon:***@db.pz.local/cordon"
    assert "s3cret" in settings.store_url


@pytest.mark.timeout(90)
def test_serve_over_https_with_the_zones_certificate(tmp_path: Path, pki: Pki) -> None:
    env = {**os.environ, "CORDON_DATA_DIR": str(tmp_path / "data"), "CORDON_ZONE_FILE": str(SMALL_ZONE),
           "CORDON_TLS__CERT_FILE": str(pki.cert), "CORDON_TLS__KEY_FILE": str(pki.key)}  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cordon", "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    trusted = ssl.create_default_context(cafile=str(pki.ca))
    try:
        wait_until_up(f"https://127.0.0.1:{port}", process, verify=trusted)
        assert httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=trusted, timeout=5).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/api/v1/health", timeout=5)  # the system's authorities only
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)  # no plain HTTP beside it
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert f"API on https://127.0.0.1:{port}" in stderr


def test_serve_with_a_key_that_is_not_the_certificates_fails_clearly(tmp_path: Path, pki: Pki) -> None:
    env = {**os.environ, "CORDON_DATA_DIR": str(tmp_path / "data"), "CORDON_ZONE_FILE": str(SMALL_ZONE),
           "CORDON_TLS__CERT_FILE": str(pki.cert), "CORDON_TLS__KEY_FILE": str(pki.other_key)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "cordon", "serve", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"Error: cannot use the TLS certificate {pki.cert} with key {pki.other_key}" in result.stderr
    assert "Traceback" not in result.stderr


def _queued_read(queue: DiskQueue, plate: str) -> str:
    at = datetime.now(UTC)
    event_id = event_id_for("cam-north", at, 1)
    read = to_read_in(Recognition((Candidate(plate, 0.9, "BE"),), Box(1, 2, 30, 10)), "cam-north", at, event_id,
                      lane_id="1")  # fmt: skip
    queue.put(event_id, orjson.dumps(read.model_dump(mode="json", by_alias=True, exclude_none=True)))
    return event_id


def test_an_edge_camera_posts_over_https_trusting_the_zones_authority(tmp_path: Path, pki: Pki) -> None:
    tls = TlsSettings(cert_file=pki.cert, key_file=pki.key)
    runtime = build_runtime(Settings(data_dir=tmp_path / "server", zone_file=SMALL_ZONE, tls=tls))
    runtime.start()
    server = ServerThread(runtime)
    server.start()
    try:
        assert server.url.startswith("https://")
        key = runtime.keyring.issue("cam-north")
        queue = DiskQueue(tmp_path / "q.sqlite3")
        event_id = _queued_read(queue, "1ABC234")
        errors: list[str] = []
        untrusting = Sender(queue, server.url, key, on_error=errors.append)
        assert not untrusting.send_once()  # the system's authorities do not know the zone's
        assert "CERTIFICATE_VERIFY_FAILED" in errors[-1] and len(queue) == 1
        untrusting.close()
        trusting = Sender(queue, server.url, key, verify=ssl.create_default_context(cafile=str(pki.ca)))
        assert trusting.send_once() and len(queue) == 0
        trusting.close()
        queue.close()
        assert [read.event_id for _, read in runtime.store.reads_after(0, 10)] == [event_id]
    finally:
        server.stop()
        runtime.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--post", "https://127.0.0.1:1", "--ca-file", "/nonexistent/ca.pem"], "--ca-file /nonexistent/ca.pem: not"),
        (["--post", "http://127.0.0.1:1", "--ca-file", "CA"], "--ca-file is for an https:// server"),
        (["--post", "cordon.example"], "--post 'cordon.example': expected the server's URL"),
        (["--post", "https://127.0.0.1:1", "--workers", "2"], "--workers is for folders of images"),
    ],
)
def test_edge_trust_options_are_checked_before_any_work(args: list[str], message: str, pki: Pki) -> None:
    args = [str(pki.ca) if a == "CA" else a for a in args]
    result = CliRunner().invoke(cli, ["recognize", "--camera", "cam-north", *args, "street.mp4"])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_edge_warns_about_plain_http_to_another_machine(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["recognize", "--camera", "cam-north", "--post", "http://10.1.2.3:8080", str(tmp_path / "none.mp4")]
    )
    assert "is plain HTTP: reads, plate images and the camera key cross the network unencrypted" in result.stderr
