"""Where a run happens: the simulators (always the engine's own, or a stack already running) and the
receiver under test (the bundled reference receiver, a command the engine launches, or a URL)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..profile import Profile
from ..profile_load import reference_profile


class TargetError(Exception):
    """The run cannot start: the message says why and what to do."""


@dataclass
class Target:
    kind: str  # "reference", "command", "remote"
    stripe_url: str
    stripe_key: str
    stripe_live_key: str
    clerk_api_url: str  # base, without /v1
    clerk_secret_key: str
    webhook_url: str
    webhook_secret: str
    endpoint_id: str | None
    receiver_url: str | None
    world: dict = field(default_factory=dict)
    stack: object = None
    process: subprocess.Popen | None = None
    probe_url: str | None = None
    probe_cmd: str | None = None
    log_path: str | None = None
    profile: Profile = field(default_factory=reference_profile)  # what the app is: tiers, API, tier source
    admin_token: str | None = None  # sent as X-Admin-Token to the receiver's /admin/sync-errors

    @property
    def reference(self) -> bool:
        return self.kind == "reference"

    def reset(self):
        """Between scenarios: a fresh world where the engine owns the stack and the receiver (in-process);
        otherwise the seeded world put back as it was, ids and secrets kept (the receiver knows them)."""
        if self.kind == "reference" and self.stack is not None:
            self.stack.reset()
            self.world = _world(self.stack.info())
            self.webhook_secret = self.world["webhook_secret"]
            self.endpoint_id = self.world["webhook_endpoint"]
        elif self.stack is not None:
            self.stack.restore_world()
            self.world = _world(self.stack.info())
        else:
            import httpx
            r = httpx.post(f"{self.stripe_url}/_sim/world/restore", timeout=30)
            if r.status_code == 200:
                point_endpoint(self)  # the restore removed the endpoint the engine made for the target
                restore_clerk(self)

    def close(self):
        clients = getattr(self, "_clients", None)
        if clients:
            clients[2].close()
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.log_path:  # once the command has stopped: its output, and the reference receiver's files
            database = self.log_path.replace(".log", ".sqlite")
            for path in (self.log_path, database, f"{database}-wal", f"{database}-shm", f"{database}.locks",
                         f"{database}.writer"):
                Path(path).unlink(missing_ok=True)
        if self.stack is not None:
            self.stack.stop()


def _world(info: dict) -> dict:
    return dict(info["stripe"]["world"])


def _from_stack(kind: str, stack, info: dict, receiver_url: str | None) -> Target:
    world = _world(info)
    return Target(kind=kind, stripe_url=info["stripe"]["url"], stripe_key=info["stripe"]["test_key"],
                  stripe_live_key=info["stripe"]["live_key"], clerk_api_url=info["clerk"]["base_url"],
                  clerk_secret_key=info["clerk"]["secret_key"],
                  webhook_url=f"{receiver_url}/webhook/stripe" if receiver_url else "",
                  webhook_secret=world.get("webhook_secret") or "", endpoint_id=world.get("webhook_endpoint"),
                  receiver_url=receiver_url, world=world, stack=stack,
                  admin_token=getattr(stack, "admin_token", None)
                  or ((info.get("receiver") or {}).get("env") or {}).get("ADMIN_TOKEN"))


def reference_target() -> Target:
    from ..stack import Stack
    stack = Stack().start()
    info = stack.info()
    return _from_stack("reference", stack, info, info["receiver"]["url"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float, log_path: str):
    def output() -> str:  # quoted in the error: the file goes when the target is closed
        return Path(log_path).read_text(errors="replace")[-2000:] if Path(log_path).exists() else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TargetError(f"the target command exited with code {proc.returncode} before listening on port "
                              f"{port}. Its output:\n{output()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TargetError(f"the target command did not listen on 127.0.0.1:{port} within {timeout:g}s. "
                      f"Its output so far:\n{output()}")


def command_target(cmd: str, *, webhook_path: str | None = None, timeout: float = 60.0,
                   profile: Profile | None = None) -> Target:
    """Start the simulators and the world seeded for `profile`, then `cmd` (with `{port}` filled in) with
    the settings under the names the profile says the app reads; wait until it listens."""
    from ..stack import Stack
    profile = profile or reference_profile()
    webhook_path = webhook_path or profile.webhook.path
    port = _free_port()
    stack = Stack(receiver_port=None, profile=profile)
    stack.start()
    receiver_url = f"http://127.0.0.1:{port}"
    stack.seed_for_app(receiver_url, receiver_url + webhook_path)
    log_path = f"/tmp/tiersync-target-{port}.log"
    env = {**os.environ, **stack.app_env(receiver_url, port=port), "RECEIVER_SKIP_REMOTE_CHECK": "0",
           "RECEIVER_DATABASE": log_path.replace(".log", ".sqlite")}  # the reference receiver's own file
    log = open(log_path, "wb")  # noqa: SIM115  (kept open for the child's lifetime)
    try:
        proc = subprocess.Popen(cmd.replace("{port}", str(port)), shell=True, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        stack.stop()
        raise TargetError(f"cannot start the target command {shlex.quote(cmd)}: {exc}") from None
    target = _from_stack("command", stack, stack.info(), receiver_url)
    target.webhook_url, target.profile = receiver_url + webhook_path, profile
    target.process, target.log_path = proc, log_path
    try:
        _wait_listening(port, proc, timeout, log_path)
    except TargetError:
        target.close()
        raise
    return target


def remote_target(stack_file: str, target_url: str, webhook_secret: str | None,
                  webhook_path: str | None = None, profile: Profile | None = None) -> Target:
    """A stack already running (`tiersync serve --json` saved to a file, served with the same profile) and
    the app at `target_url`."""
    profile = profile or reference_profile()
    webhook_path = webhook_path or profile.webhook.path
    try:
        info = json.loads(Path(stack_file).read_text())
    except OSError as exc:
        raise TargetError(f"{stack_file}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise TargetError(f"{stack_file}: not the JSON line of `tiersync serve --json` ({exc.msg})") from None
    needed = {"stripe": ("url", "test_key", "live_key", "world"), "clerk": ("base_url", "secret_key")}
    for section, keys in needed.items():
        if not isinstance(info, dict) or not isinstance(info.get(section), dict):
            raise TargetError(f"{stack_file}: no {section!r} section; save the output of `tiersync serve --json`")
        lacking = [k for k in keys if k not in info[section]]
        if lacking:
            raise TargetError(f"{stack_file}: the {section!r} section lacks {', '.join(lacking)}; save the output "
                              "of `tiersync serve --json`")
    from .simulator_check import NotASimulator, check_simulators
    try:  # before any call that carries a key: nothing but a simulator is ever called with one
        check_simulators(info["stripe"].get("url"), info["clerk"].get("base_url"), info["stripe"].get("test_key"),
                         stack_file)
    except NotASimulator as exc:
        raise TargetError(str(exc)) from None
    target = _from_stack("remote", None, info, target_url.rstrip("/"))
    target.webhook_url, target.profile = target_url.rstrip("/") + webhook_path, profile
    missing = [t.name for t in profile.paid_tiers if t.name not in target.world.get("prices", {})]
    if missing:
        raise TargetError(f"{stack_file}: the stack's world has no price for tier {', '.join(missing)} of the "
                          f"profile {profile.name!r} (it has {', '.join(target.world.get('prices', {})) or 'none'}); "
                          f"start it with `tiersync serve --profile FILE --json`")
    if webhook_secret:
        target.webhook_secret = webhook_secret
    if not target.webhook_secret:
        raise TargetError("give --webhook-secret (the whsec_ your receiver verifies with)")
    return target


def restore_clerk(target: Target):
    """On a running stack, the Clerk half of a Stack's `restore_world`, through Clerk's API: faults cleared
    and the profile's JWT templates as it declares them (a scenario may have changed one)."""
    import httpx
    headers = {"Authorization": f"Bearer {target.clerk_secret_key}"}
    with httpx.Client(base_url=target.clerk_api_url, headers=headers, timeout=30) as http:
        http.delete("/_sim/faults")
        listing = http.get("/v1/jwt_templates")
        listing.raise_for_status()
        existing = {t["name"]: t["id"] for t in listing.json()}
        for template in target.profile.auth.jwt_templates:
            body = {"name": template.name, "claims": template.claims,
                    **({"lifetime": template.lifetime} if template.lifetime else {})}
            if template.name in existing:
                r = http.patch(f"/v1/jwt_templates/{existing[template.name]}", json=body)
            else:
                r = http.post("/v1/jwt_templates", json=body)
            r.raise_for_status()


def point_endpoint(target: Target):
    """On a running stack: an endpoint for the target URL that signs with the receiver's secret."""
    import httpx
    import stripe

    from ..stack import RECEIVER_EVENTS
    client = stripe.StripeClient(target.stripe_key, base_addresses={"api": target.stripe_url})
    endpoint = next((e for e in client.v1.webhook_endpoints.list(params={"limit": 100}).data
                     if e.url == target.webhook_url), None)
    if endpoint is None:
        endpoint = client.v1.webhook_endpoints.create(params={"url": target.webhook_url,
                                                              "enabled_events": RECEIVER_EVENTS})
    r = httpx.post(f"{target.stripe_url}/_sim/webhook_endpoints/{endpoint.id}/secret",
                   data={"secret": target.webhook_secret}, timeout=30)
    r.raise_for_status()
    target.endpoint_id = endpoint.id
