"""`python -m tiersync.receiver`: serve the reference receiver (port 8787, or $PORT; host 127.0.0.1, or $HOST)
with settings from the environment (receiver/settings.py). One process: the dedupe is the database's
unique constraint, the per-customer lock a thread lock."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from .app import check_remote, create_app, stripe_client
from .settings import ConfigError, Settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("stripe", "httpx", "httpcore"):  # a line per API call: the receiver's own lines say what matters
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        if os.environ.get("RECEIVER_SKIP_REMOTE_CHECK") != "1":
            check_remote(settings, stripe_client(settings))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT") or "8787")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
