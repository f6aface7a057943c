"""A Cloudflare Worker as the engine's target: the simulators and a seeded world, then the Worker in Miniflare
with the world's keys, price ids, portal configuration and webhook secret as its bindings, and its calls to
api.stripe.com / api.clerk.com answered by the simulators."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from ..engine.target import Target, TargetError, _from_stack
from .runtime import WorkerError, WorkerRuntime

# The real hosts a Worker calls, each answered by a simulator (by the key of `Stack.info()`).
SIMULATED_HOSTS = {"api.stripe.com": ("stripe", "url"), "api.clerk.com": ("clerk", "base_url")}


@dataclass
class WorkerTarget(Target):
    runtime: WorkerRuntime | None = None

    def annotate_deliveries(self, deliveries: list[dict]):
        """Each delivery try gets the Worker's console lines for that request (`delivery["console"]`)."""
        if self.runtime is not None:
            self.runtime.annotate(deliveries)

    def notes(self) -> list[str]:
        """What a report says about the Worker beyond the scenarios: hosts it tried to reach that are blocked."""
        if self.runtime is None or not self.runtime.blocked:
            return []
        return ["The Worker tried to reach hosts tiersync does not simulate (blocked: each call was answered "
                "502): " + "; ".join(self.runtime.blocked_hosts())]

    def close(self):
        if self.runtime is not None:
            self.runtime.close()
        super().close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def routes_for(info: dict) -> dict[str, str]:
    return {host: info[section][key] for host, (section, key) in SIMULATED_HOSTS.items()}


def seed_profile():
    """The seed guide's conventions (what `tiersync init` writes): the profile of a Worker that has none."""
    import tomllib

    from ..profile_init import SEED_PROFILE
    from ..profile_load import parse_profile
    return parse_profile(tomllib.loads(SEED_PROFILE), "the seed profile (tiersync init)")


def worker_profile_path(worker: str | Path) -> Path | None:
    """A tiersync.toml beside the Worker's wrangler.toml (or its entry file), if there is one."""
    from ..profile_load import find_profile
    p = Path(worker).expanduser()
    return find_profile(p if p.is_dir() else p.parent)


def worker_target(path: str, *, webhook_path: str | None = None, timeout: float = 20.0, profile=None,
                  stack=None, port: int = 0) -> WorkerTarget:
    """Start the simulators, seed the world for `profile` (default: a tiersync.toml beside the Worker, else the
    seed guide's conventions) with an endpoint at the
    Worker's webhook path, then the Worker with the settings under the names the profile says it reads.
    `stack`: a Stack built without a receiver (`tiersync serve` passes its ports and keys); `port`: the
    Worker's (0: any free one)."""
    from ..profile_load import ProfileError, load_profile
    from ..stack import Stack
    if profile is None:
        beside = worker_profile_path(path)
        try:
            profile = load_profile(beside) if beside else seed_profile()
        except ProfileError as exc:
            raise TargetError(str(exc)) from None
    webhook_path = webhook_path or profile.webhook.path
    port = port or _free_port()
    receiver_url = f"http://127.0.0.1:{port}"
    stack = stack or Stack(receiver_port=None, profile=profile)
    stack.start()
    try:
        stack.seed_for_app(receiver_url, receiver_url + webhook_path)
        info = stack.info()
        bindings = stack.app_env(receiver_url, port=port)
        runtime = WorkerRuntime(path, bindings, routes_for(info), port=port, start_timeout=timeout,
                                log_path=f"/tmp/tiersync-worker-{port}.log")  # removed by Target.close
        runtime.start()
    except WorkerError as exc:
        stack.stop()
        Path(f"/tmp/tiersync-worker-{port}.log").unlink(missing_ok=True)
        raise TargetError(str(exc)) from None
    except BaseException:
        stack.stop()
        Path(f"/tmp/tiersync-worker-{port}.log").unlink(missing_ok=True)
        raise
    base = _from_stack("worker", stack, info, receiver_url)
    target = WorkerTarget(**{f: getattr(base, f) for f in base.__dataclass_fields__}, runtime=runtime)
    target.webhook_url, target.profile = receiver_url + webhook_path, profile
    target.log_path = runtime.log_path  # what a failure report quotes the tail of (pytest plugin)
    return target
