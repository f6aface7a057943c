"""Serve a ``ClerkSim`` over HTTP: a uvicorn thread for tests, or a process from the CLI.

Tests::

    with ClerkSim().serve(port=0) as server:   # 127.0.0.1, OS-picked port
        server.url, server.api_url               # "http://127.0.0.1:PORT", ".../v1"

CLI (default 127.0.0.1:12121)::

    python -m tiersync.clerk_sim [--host H] [--port P] [--secret-key sk_test_...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from .sim import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SECRET_KEY, ClerkSim

if TYPE_CHECKING:
    from clerk_backend_api import Clerk


class ClerkSimServer:
    def __init__(self, sim: ClerkSim, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tiersync.clerk_sim", description="Run the Clerk simulator.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--json", action="store_true", help="print connection details as one JSON line")
    args = parser.parse_args(argv)
    sim = ClerkSim(secret_key=args.secret_key)
    server = sim.serve(host=args.host, port=args.port).start()
    info = sim.info()
    if args.json:
        print(json.dumps({"clerk": info}), flush=True)
    else:
        print(f"Clerk simulator on {info['base_url']} (Backend API {info['api_url']})", flush=True)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
