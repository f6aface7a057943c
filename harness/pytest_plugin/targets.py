"""The receiver under test: ``tiersync_target`` (one per session) and the pool of fresh command targets
(one per scenario under ``--tiersync-isolation scenario``)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from .options import option, resolve_path


# ---- the target -------------------------------------------------------------------------------------------
class TiersyncTarget:
    """The engine's ``Target`` (every attribute of it is readable here) plus clients for its simulators."""

    def __init__(self, target):
        self.target = target

    def __getattr__(self, name):
        return getattr(self.target, name)

    def stripe_client(self, live: bool = False, **kw):
        import stripe
        kw.setdefault("max_network_retries", 0)
        kw.setdefault("base_addresses", {"api": self.target.stripe_url})
        return stripe.StripeClient(self.target.stripe_live_key if live else self.target.stripe_key, **kw)

    def clerk_client(self, **kw):
        from clerk_backend_api import Clerk
        return Clerk(bearer_auth=self.target.clerk_secret_key, server_url=f"{self.target.clerk_api_url}/v1", **kw)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the target command printed (command targets only)."""
        if not self.target.log_path:
            return ""
        try:
            text = Path(self.target.log_path).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"<tiersync target {self.target.kind} webhook={self.target.webhook_url}>"


def make_target(config: pytest.Config):
    from tiersync.engine.target import command_target, reference_target, remote_target
    cmd, cmd_base = option(config, "target-cmd")
    stack_file, base = option(config, "stack")
    url, _ = option(config, "target")
    secret, _ = option(config, "webhook-secret")
    path = (option(config, "webhook-path")[0] or "").strip() or None  # None: the profile's
    profile = _profile(config)
    timeout = float(option(config, "target-timeout")[0] or 60)
    worker, worker_base = option(config, "worker")
    if worker:
        if cmd or stack_file or url:
            raise pytest.UsageError("tiersync: --tiersync-worker goes alone (not with -target-cmd or -stack)")
        from tiersync.worker.target import worker_target
        return worker_target(str(resolve_path(worker, worker_base)), webhook_path=path, timeout=min(timeout, 30),
                             profile=profile)
    if cmd and (stack_file or url):
        raise pytest.UsageError("tiersync: give either --tiersync-target-cmd or --tiersync-stack/--tiersync-target")
    if cmd:
        cmd = cmd.strip()
        if cmd_base is not None and cmd_base.resolve() != Path.cwd().resolve():
            cmd = f"cd {shlex.quote(str(cmd_base))} && {cmd}"  # an ini file's command runs in its folder
        return command_target(cmd, webhook_path=path, timeout=timeout, profile=profile)
    if stack_file or url:
        if not (stack_file and url):
            raise pytest.UsageError("tiersync: --tiersync-stack FILE and --tiersync-target URL go together")
        return remote_target(str(resolve_path(stack_file, base)), url.strip(), secret, webhook_path=path,
                             profile=profile)
    if profile is not None:
        raise pytest.UsageError("tiersync: --tiersync-profile describes your app: give --tiersync-target-cmd, "
                                "--tiersync-worker or --tiersync-stack/--tiersync-target too")
    return reference_target()


def _profile(config: pytest.Config):
    """The app profile of --tiersync-profile (or the ini's tiersync_profile), or None."""
    from tiersync.profile_load import ProfileError, load_profile
    value, base = option(config, "profile")
    if not value:
        return None
    try:
        return load_profile(resolve_path(value, base))
    except ProfileError as exc:
        raise pytest.UsageError(f"tiersync: the profile cannot be used:\n{exc}") from None


@pytest.fixture(scope="session")
def tiersync_target(request: pytest.FixtureRequest) -> Iterator[TiersyncTarget]:
    """The receiver under test (see the module doc); one per session / xdist worker."""
    from tiersync.engine.target import TargetError
    problem = None
    try:
        target = make_target(request.config)
    except TargetError as exc:
        problem = f"tiersync: cannot start the target: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield TiersyncTarget(target)
    finally:
        target.close()


class FreshTargets:
    """Command targets, one per scenario; the next one starts in the background while a scenario runs (a
    process and a world take seconds to start, about as long as a scenario takes to play)."""

    def __init__(self, config: pytest.Config):
        from concurrent.futures import ThreadPoolExecutor
        self.config = config
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiersync-target")
        self._spare = None

    def take(self, *, prestart_next: bool = False):
        future, self._spare = self._spare, None
        if future is None:
            future = self._executor.submit(make_target, self.config)
        if prestart_next:
            self._spare = self._executor.submit(make_target, self.config)
        return future.result()

    def close(self):
        if self._spare is not None:
            try:
                self._spare.result().close()
            except Exception:  # a spare that failed to start has nothing to close
                pass
        self._executor.shutdown(wait=True)


@pytest.fixture(scope="session")
def _tiersync_fresh_targets(request: pytest.FixtureRequest) -> Iterator[FreshTargets]:
    pool = FreshTargets(request.config)
    try:
        yield pool
    finally:
        pool.close()
