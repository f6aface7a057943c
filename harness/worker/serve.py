"""`tiersync serve --worker PATH`: the simulators, a world seeded for the Worker, and the Worker itself on
--receiver-port (8787, wrangler dev's port, by default), its console lines printed as requests come."""

from __future__ import annotations

import json
import sys

from ..engine.target import TargetError
from ..signer import mask


def _print_record(record):
    where = f"{record.method} {record.path}" + (f" ({record.event})" if record.event else "")
    print(f"[worker] {where} -> {record.status}", flush=True)
    for line in record.lines:
        print(f"[worker]   {line.get('level')}: {mask(str(line.get('text')))}", flush=True)


def serve_worker(args, keys, print_stack, wait_for_stop) -> int:
    from ..profile_load import ProfileError, load_profile
    from ..stack import Stack
    from .target import seed_profile, worker_profile_path, worker_target
    path = getattr(args, "profile", None) or worker_profile_path(args.worker)
    try:
        profile = load_profile(path) if path else seed_profile()
    except ProfileError as exc:
        print(f"tiersync serve: the profile cannot be used: {exc}", file=sys.stderr)
        return 2
    stack = Stack(host=args.host, stripe_port=args.port, clerk_port=args.clerk_port, receiver_port=None,
                  stripe_keys=keys, accept_any_key=args.accept_any_key, profile=profile)
    stack.stripe_sim.webhooks.concurrency = args.webhook_concurrency
    if getattr(args, "failed_payments", None):  # --failed-payments, as cli.set_failed_payments does
        stack.stripe_sim.failed_payment_settings.update(test=args.failed_payments, live=args.failed_payments)
    try:
        target = worker_target(args.worker, stack=stack, port=args.receiver_port, profile=profile)
    except OSError as exc:
        print(f"tiersync serve: cannot listen on {args.host}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except TargetError as exc:
        print(f"tiersync serve: cannot start the Worker: {mask(str(exc))}", file=sys.stderr)
        return 2
    info = stack.info()
    info["stripe"]["accept_any_key"] = args.accept_any_key
    info["stripe"]["webhook_concurrency"] = args.webhook_concurrency
    info["worker"] = {"url": target.receiver_url, "webhook_url": target.webhook_url,
                      "entry": str(target.runtime.project.entry),
                      "start_seconds": round(target.runtime.timings.start_s, 3)}
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print_stack(info)
        print(f"Worker             {target.receiver_url}   ({info['worker']['entry']}; webhook endpoint "
              f"{stack.world.webhook_endpoint} -> {target.webhook_url})", flush=True)
    target.runtime.on_console = _print_record
    try:
        wait_for_stop()
    finally:
        for note in target.notes():
            print(note, file=sys.stderr)
        target.close()
    return 0
