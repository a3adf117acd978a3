"""The API server: uvicorn in a thread of its own, with its own event loop, beside the daemon's cycle.

The daemon starts it as a hook (`ApiHook`: ``start``/``stop`` around the run, nothing per cycle). The
server only reads — the live state file and the database through its own read-only connection — so
a slow or hostile client can hold up neither the cycle nor the writer. A server that cannot start (a
port in use, an unreadable certificate) is logged and the daemon runs on without it.

FastAPI and uvicorn are imported here only when the server starts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hems.api.context import ApiContext
from hems.api.live import LiveFeed

if TYPE_CHECKING:
    from hems.config import HemsConfig
    from hems.snapshot import Snapshot

log = logging.getLogger(__name__)
#: threads for handlers that read the database (each holds a little memory on the Pi)
HANDLER_THREADS = 4


class ApiServer:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.feed = LiveFeed(ctx.state_path, ctx.now, ctx.currency, ctx.stale_s)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None
        self.port: int | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ctx.api.tls else "http"

    @property
    def url(self) -> str:
        host = self.ctx.api.host
        host = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Make the certificate when needed, bind and serve; returns once the server listens.
        Raises RuntimeError when it cannot start."""
        import uvicorn

        from hems.api.app import create_app

        api = self.ctx.api
        ssl: dict[str, Any] = {}
        if api.tls:
            from hems.api.tls import ensure_certificate, fingerprint

            files, made = ensure_certificate(self.ctx.directory, api.host)
            self.ctx.fingerprint = fingerprint(files.cert)
            if made:
                log.warning("API: made the box's certificate, SHA-256 fingerprint %s", self.ctx.fingerprint)
            ssl = {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
        config = uvicorn.Config(
            create_app(self.ctx, self.feed),
            host=api.host,
            port=api.port,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            limit_concurrency=64,
            timeout_graceful_shutdown=2,
            **ssl,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="hems-api", daemon=True)
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive():
                raise RuntimeError(
                    f"the API could not start on {api.host}:{api.port}: {self._failed or 'see the log'}"
                )
            if waited > timeout_s:
                raise RuntimeError(f"the API did not start on {api.host}:{api.port} within {timeout_s:g} s")
            threading.Event().wait(0.02)
            waited += 0.02
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        self.port = sockets[0].getsockname()[1] if sockets else api.port
        log.info("API listening on %s", self.url)

    def _run(self) -> None:
        async def main() -> None:
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
            watcher = asyncio.ensure_future(self.feed.run())
            try:
                await self._server.serve()
            finally:
                watcher.cancel()

        try:
            asyncio.run(main())
        except BaseException as exc:  # logged: the daemon goes on without its API
            self._failed = exc
            log.error("API server stopped: %s", exc)
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            self._failed = exc

    def stop(self, timeout_s: float = 5.0) -> None:
        self.feed.closing = True  # open streams end within a second
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.ctx.close()


class ApiHook:
    """Starts the API with the daemon and stops it with the daemon (a hook that does nothing per cycle)."""

    def __init__(
        self,
        config: HemsConfig,
        db_path: Path,
        state_path: Path,
        now: Callable[[], datetime],
        config_path: str | None = None,
    ) -> None:
        assert config.api is not None
        self.ctx = ApiContext(config, config.api, Path(state_path), Path(db_path), now, config_path)
        self.server = ApiServer(self.ctx)
        self._starting: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Start serving in the background: the daemon's first cycle does not wait for FastAPI's
        import or the certificate (made on the very first start)."""
        self._starting = asyncio.ensure_future(asyncio.to_thread(self._start))

    def _start(self) -> None:
        try:
            self.server.start()
        except Exception as exc:  # a busy port must not keep the box from reading its meters
            log.error("%s; the daemon runs on without it", exc)

    async def on_cycle(self, snapshot: Snapshot) -> None:
        return None

    async def stop(self) -> None:
        if self._starting is not None:
            await self._starting
        await asyncio.to_thread(self.server.stop)
