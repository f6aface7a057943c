"""Serve a ``ClerkSim`` over HTTP in a uvicorn thread (the command line is ``__main__.py``).

Tests::

    with ClerkSim().serve(port=0) as server:   # 127.0.0.1, OS-picked port
        server.url, server.api_url               # "http://127.0.0.1:PORT", ".../v1"
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from .interface import SimInterface

if TYPE_CHECKING:
    from clerk_backend_api import Clerk

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12121  # the command line's port; tests pass 0 for one the OS picks


class ClerkSimServer:
    def __init__(self, sim: SimInterface, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def sdk_client(self, **kwargs: Any) -> Clerk:
        """A ``clerk_backend_api.Clerk`` that talks to this server over real HTTP."""
        from clerk_backend_api import Clerk

        return Clerk(bearer_auth=self.sim.secret_key, server_url=self.api_url, **kwargs)

    def start(self, timeout: float = 10.0) -> ClerkSimServer:
        config = uvicorn.Config(
            self.sim.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="clerk-sim-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"clerk simulator failed to start on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("clerk simulator did not start in time")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        # Tokens' iss, the publishable key and redirects now name the real address.
        self.sim.base_url = self.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sim.webhooks.close()

    def __enter__(self) -> ClerkSimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
