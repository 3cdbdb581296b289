"""Run the API with uvicorn, in the foreground (`cordon serve`) or in a thread (`cordon demo`, tests)."""

from __future__ import annotations

import gc
import signal
import socket
import ssl
import threading
import time

import uvicorn

from cordon.api import create_app
from cordon.errors import CordonError
from cordon.runtime import Runtime


def _tls_files(runtime: Runtime) -> dict[str, str]:
    """uvicorn's HTTPS arguments from `settings.tls`, the files checked first: a missing or unreadable
    certificate is one clear error, not a stack trace from the TLS library."""
    tls = runtime.settings.tls
    if tls.cert_file is None or tls.key_file is None:
        return {}
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise CordonError(
            "tls", f"cannot use the TLS certificate {tls.cert_file} with key {tls.key_file}: {exc}"
        ) from None
    return {"ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file)}


def _uvicorn_config(runtime: Runtime, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(runtime.settings, runtime),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # an access log would write plates in URLs and query strings to disk
        loop="uvloop",
        http="httptools",
        lifespan="on",
        server_header=False,
        **_tls_files(runtime),  # type: ignore[arg-type]
    )


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


#: Allocations between young-generation collections, and young collections per older one (Python's defaults:
#: 700, 10, 10). The rules keep a state per plate (a million plates in a busy zone); with the defaults a full
#: collection walks all of it every few seconds and stops every thread for 100-200 ms, which shows as the
#: bollard's p99 latency (docs/benchmarks.md §9). The state holds no reference cycles, so collecting rarely
#: costs little memory.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc_for_latency() -> None:
    """Call once the process has started (its rules' state rebuilt): what exists now is frozen out of every
    future collection, and collections become rarer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve_forever(runtime: Runtime, host: str, port: int, log_level: str = "info") -> None:
    """Serve until SIGINT/SIGTERM, then return (the caller stops the runtime: queued reads are committed).

    Uvicorn shuts down gracefully on those signals and then re-raises them; the handlers installed here turn
    that into a normal exit, so the caller's clean-up runs and the exit status is 0.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    try:
        uvicorn.Server(_uvicorn_config(runtime, host, port, log_level)).run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise CordonError("server_start", f"the API could not start on {host}:{port} (see above)") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class ServerThread:
    """The API served from a background thread; `start()` returns once it accepts connections."""

    def __init__(self, runtime: Runtime, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.host = host
        self.port = port or free_port(host)
        self.scheme = runtime.settings.tls.scheme
        self._server = uvicorn.Server(_uvicorn_config(runtime, self.host, self.port, log_level))
        self._thread = threading.Thread(target=self._server.run, name="cordon-api", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise CordonError("server_start", f"the API did not start on {self.url}")
            time.sleep(0.02)

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
