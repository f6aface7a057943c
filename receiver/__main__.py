"""`python -m receiver`: serve the reference receiver (port 8787, or $PORT) with settings from the env."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .app import create_app
from .settings import ConfigError, Settings


def main() -> int:
    # handlers run in threads that each make two HTTP calls: CPython passes the GIL to a thread whose answer
    # has arrived only every switch interval (5 ms by default), which at 16 deliveries in flight adds tens of
    # milliseconds per delivery; 1 ms cuts that wait (measured in bench/receiver.py)
    sys.setswitchinterval(0.001)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("stripe", "httpx", "httpcore"):  # one line per API call would cost more than the call
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        app = create_app(settings, verify_remote=os.environ.get("RECEIVER_SKIP_REMOTE_CHECK") != "1")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT") or "8787"),
                log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
