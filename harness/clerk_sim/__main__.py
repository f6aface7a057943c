"""``python -m tiersync.clerk_sim [--host H] [--port P] [--secret-key sk_test_...] [--json]``: one simulator
served until interrupted (default 127.0.0.1:12121)."""

from __future__ import annotations

import argparse
import json
import sys

from .server import DEFAULT_HOST, DEFAULT_PORT
from .sim import DEFAULT_SECRET_KEY, ClerkSim


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
