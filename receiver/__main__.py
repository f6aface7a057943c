"""`python -m receiver`: serve the reference receiver (port 8787, or $PORT) with settings from the env.

RECEIVER_WORKERS=N (default 1) runs N uvicorn worker processes on the one port, sharing the SQLite file: the
dedupe is its unique constraint and the per-customer lock is a file lock (receiver/locks.py), so deliveries
for one customer are still handled one at a time across workers.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

import uvicorn

from .app import create_app
from .settings import ConfigError, Settings


def _configure_process():
    # handlers run in threads that each make two HTTP calls: CPython passes the GIL to a thread whose answer
    # has arrived only every switch interval (5 ms by default), which at 16 deliveries in flight adds tens of
    # milliseconds per delivery; 1 ms cuts that wait (measured in bench/receiver.py)
    sys.setswitchinterval(0.001)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(message)s")
    for noisy in ("stripe", "httpx", "httpcore", "urllib3"):  # one line per API call would cost more than the call
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settle():
    """Everything built so far (the SDKs' modules and models: ~75,000 objects) lives as long as the process:
    set it aside from the garbage collector, whose full collections then take ~0 ms instead of ~55 ms
    (each one pauses every delivery in flight)."""
    gc.collect()
    gc.freeze()


def worker_app():
    """The app of one worker process (`uvicorn.run(..., factory=True, workers=N)` imports and calls this).
    The settings were checked, and Stripe consulted, once in the parent before any worker started."""
    _configure_process()
    app = create_app(Settings.from_env(), verify_remote=False)
    _settle()
    return app


def main() -> int:
    _configure_process()
    try:
        settings = Settings.from_env()
        app = create_app(settings, verify_remote=os.environ.get("RECEIVER_SKIP_REMOTE_CHECK") != "1")
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT") or "8787")
    if settings.workers == 1:
        _settle()
        uvicorn.run(app, host=host, port=port, log_level="warning")
    else:
        app.state.storage.close()  # the schema exists now: the workers open the file themselves
        app.state.sync.locks.close()
        uvicorn.run("receiver.__main__:worker_app", factory=True, workers=settings.workers, host=host, port=port,
                    log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
