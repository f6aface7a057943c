"""`python -m tiersync.receiver`: serve the reference receiver (port 8787, or $PORT) with settings from the env.

RECEIVER_WORKERS=N (default 1) runs N worker processes on the one port, sharing the SQLite file: the dedupe
is its unique constraint and the per-customer lock is a file lock (receiver/locks.py), so deliveries for one
customer are still handled one at a time across workers.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from .app import check_remote, create_app, stripe_client
from .serving import configure_process, pin_to_cpu, serve_workers, settle
from .settings import ConfigError, Settings
from .storage import Storage


def main() -> int:
    configure_process()
    try:
        settings = Settings.from_env()
        if os.environ.get("RECEIVER_SKIP_REMOTE_CHECK") != "1":
            check_remote(settings, stripe_client(settings))  # once, not once per worker
        if settings.workers == 1:
            pin_to_cpu(settings.cpu_affinity, 0)  # before create_app starts threads (workers pin themselves)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT") or "8787")
    if settings.workers > 1:
        Storage(settings.database).close()  # the schema, made before the workers open the file
        return serve_workers(settings.workers, host, port)
    app = create_app(settings)
    settle()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
