"""uvicorn running the research app: in the foreground (`hems research serve`) or in a thread
(tests, the bench). TLS when a certificate and key are given; without them it listens on loopback
only (behind a TLS-terminating proxy, as docs/research.md shows)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from research.ingest.service import Limits

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class ServeOptions:
    data: Path
    host: str = "127.0.0.1"
    port: int = 8443
    cert: Path | None = None
    key: Path | None = None
    k: int = 5
    limits: Limits = field(default_factory=Limits)
    workers: int = 1  #: processes serving requests (each a core); the store's writes stay serial

    def check(self) -> None:
        if not 1 <= self.workers <= 64:
            raise ValueError(f"--workers {self.workers}: expected 1 to 64")
        if (self.cert is None) != (self.key is None):
            raise ValueError("--cert and --key go together")
        if self.cert is None and self.host not in LOOPBACK:
            raise ValueError(
                f"--host {self.host}: without --cert/--key the server listens on loopback only "
                "(put a TLS proxy in front, or give the certificate)"
            )
        for f in (self.cert, self.key):
            if f is not None and not Path(f).is_file():
                raise ValueError(f"{f}: no such file")


def _settings(opts: ServeOptions) -> dict[str, Any]:
    opts.check()
    tls: dict[str, Any] = {}
    if opts.cert is not None and opts.key is not None:
        tls = {"ssl_certfile": str(opts.cert), "ssl_keyfile": str(opts.key)}
    return dict(
        host=opts.host,
        port=opts.port,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        limit_concurrency=256,
        timeout_graceful_shutdown=5,
        **tls,
    )


def _config(opts: ServeOptions) -> Any:
    import uvicorn

    from research.app import create_app

    return uvicorn.Config(create_app(opts.data, k=opts.k, limits=opts.limits), **_settings(opts))


def serve(opts: ServeOptions) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn's own signal handling); with more than
    one worker, uvicorn's supervisor runs them on one listening socket (`research.app.from_environment`
    builds each worker's app)."""
    import uvicorn

    if opts.workers == 1:
        config = _config(opts)
        _warm(opts.data, opts.k)
        uvicorn.Server(config).run()
        return
    settings = _settings(opts)
    os.environ.update(
        {
            "HEMS_RESEARCH_DATA": str(opts.data),
            "HEMS_RESEARCH_K": str(opts.k),
            "HEMS_RESEARCH_WORKERS": str(opts.workers),
            "HEMS_RESEARCH_LIMITS": json.dumps(dataclasses.asdict(opts.limits)),
        }
    )
    uvicorn.run("research.app:from_environment", factory=True, workers=opts.workers, **settings)


def _warm(data: Path, k: int) -> None:
    from research.paths import DataDir
    from research.query.datasets import warm_in_background

    warm_in_background(DataDir(Path(data)), k)


class ThreadedServer:
    """The server in a thread of its own (tests, bench): `start` returns once it listens."""

    def __init__(self, opts: ServeOptions) -> None:
        import uvicorn

        self.opts = opts
        self._server = uvicorn.Server(_config(opts))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()), daemon=True)
        self.port = opts.port

    @property
    def url(self) -> str:
        scheme = "https" if self.opts.cert else "http"
        return f"{scheme}://localhost:{self.port}/v1"

    def start(self, timeout_s: float = 20.0) -> ThreadedServer:
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited > timeout_s:
                raise RuntimeError(f"the research server did not start on port {self.opts.port}")
            threading.Event().wait(0.02)
            waited += 0.02
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        self.port = sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
