"""tiersync's pytest plugin: the simulators as fixtures, a signed-webhook sender with expectations, and the
scenario catalog as parametrized tests against *your* receiver.

Installed with tiersync (a ``pytest11`` entry point named ``tiersync``; ``-p no:tiersync`` turns it off).
Every server listens on 127.0.0.1 on an OS-picked port, one per session — so one per pytest-xdist worker.

Fixtures
--------
``tiersync_stripe``       a served ``StripeSim`` (session-wide, reset before each test): ``.url``, ``.sim``,
                          ``.client()`` (a ``stripe.StripeClient`` for the test key), ``.live_client()``
``tiersync_clerk``        a served ``ClerkSim`` (session-wide, reset before each test): ``.url``, ``.api_url``,
                          ``.sim``, ``.sdk_client()`` (a ``clerk_backend_api.Clerk`` over HTTP)
``tiersync_stack``        a ``tiersync.stack.Stack``: both simulators, the seeded world and the reference receiver
                          (session-wide, reset and re-seeded before each test)
``tiersync_stripe_mock``  in-process Stripe (``mock_stripe``: the SDK's calls to api.stripe.com are
                          intercepted), fresh for each test; yields the ``StripeSim``
``tiersync_target``       the receiver under test, as the options below say (default: the bundled reference
                          receiver on its own stack); session-wide, *not* reset (a process of yours keeps its
                          state: make your own users in each test). ``.stripe_client()``, ``.clerk_client()``,
                          ``.webhook_url``, ``.webhook_secret``, ``.receiver_url``, ``.world`` ...
``tiersync_webhooks``     a factory of signed-event senders with expectations (below)
``tiersync_scenario``     a test asking for it is parametrized over the scenarios (ids = scenario names);
                          ``tiersync_scenario.run()`` plays one against the target (below) and fails with
                          the scenario's message, the failing step, the timeline and the target's last output

Signed events with expectations (in the pytest-httpserver style)::

    def test_signatures(tiersync_webhooks):
        sender = tiersync_webhooks()          # or (url=, secret=) or (target=tiersync_stack); default:
                                              # tiersync_target's webhook URL and signing secret
        sub = {"id": "sub_123", "object": "subscription", "customer": "cus_123", "status": "active"}
        sender.expect_event("customer.subscription.updated", object=sub) \\
              .with_fault(timestamp_offset=-600).respond_with_status(400)
        sender.expect_event("customer.subscription.updated", object=sub) \\
              .with_fault(header="missing").respond_with_status(400).respond_with_body_containing("Signature")
        sender.expect_event("invoice.created", object={"id": "in_1"}).duplicate(3, concurrent=True) \\
              .respond_with_status_in(200, 202).within_ms(1000)
        sender.check_assertions()             # sends what was not sent yet, then one AssertionError listing
                                              # every mismatch (event, fault, copy, status, body, latency)

``expect_event(type, object=None, *, id=None, livemode=False, previous_attributes=None, event=None)`` builds
the event (or takes a whole ``event`` dict) and returns an expectation to chain on:
``with_fault(timestamp_offset=, header="missing"|"malformed"|"no_v1", body="reserialized"|"crlf",
secret="whsec_..."|"wrong")``, ``duplicate(copies=2, concurrent=False)`` (the same signed request, several
times), ``respond_with_status(code)``, ``respond_with_status_in(*codes)``, ``respond_with_2xx()``,
``respond_with_body_containing(text)``, ``within_ms(ms)``. Without any ``respond_with_*`` a 2xx is expected
for a clean event and a 4xx for one a correct receiver must refuse (another secret, a header or body
fault, a timestamp more than 300 s old). ``send_all()`` sends the events not sent yet (in
declaration order) and returns their ``Sent`` records; ``check_assertions()`` raises on mismatches;
``sender.results`` holds every answer. A sender whose events were declared but never sent warns at teardown.
A real test of this example is ``tests/test_pytest_plugin.py::test_docstring_example``.

Scenarios against your receiver
-------------------------------
::

    # test_billing_catalog.py
    def test_catalog(tiersync_scenario):
        tiersync_scenario.run()

    pytest --tiersync-target-cmd 'uvicorn myapp:app --port {port}'          # tiersync starts it
    pytest --tiersync-stack stack.json --tiersync-target http://127.0.0.1:8000 \\
           --tiersync-webhook-secret whsec_...                                  # already running
    pytest --tiersync-scenarios scenarios/ --tiersync-scenarios catalog:happy   # which scenarios

``--tiersync-target-cmd`` gets the seed's environment (``STRIPE_SECRET_KEY``, ``STRIPE_API_BASE``,
``STRIPE_WEBHOOK_SECRET``, ``STRIPE_PRICE_ID_PRO``, ``CLERK_SECRET_KEY``, ``CLERK_API_URL``, ``PORT``, ...);
``{port}`` is replaced by a free port; a command from an ini file runs in that file's folder, one from
the command line in the current one. ``--tiersync-scenarios`` (repeatable; files or folders; ``catalog:``
names a part of the bundled catalog, ``catalog:`` alone all of it) defaults to the whole catalog. Each option
has an ini twin (``tiersync_target_cmd``, ``tiersync_scenarios`` — one per line —, ``tiersync_stack``,
``tiersync_target``, ``tiersync_webhook_secret``, ``tiersync_webhook_path``, ``tiersync_target_timeout``,
``tiersync_isolation``). Scenarios change the world (product metadata, extra endpoints, a one-time promotion
code), so with ``--tiersync-target-cmd`` each scenario gets fresh simulators, a fresh world and a fresh process
(``--tiersync-isolation session``: one for all, faster but scenarios may disturb each other); the reference
receiver is re-seeded in place; a ``--tiersync-stack`` target is shared as it is.
``@pytest.mark.tiersync_scenarios("path", ...)`` on a test picks its own (paths relative to the test file).
"""

from __future__ import annotations

import json
import secrets as _secrets
import shlex
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .catalog import catalog_dir

CATALOG_PREFIX = "catalog:"


# ---- options ---------------------------------------------------------------------------------------------
_OPTIONS = [
    ("scenarios", "append", "PATH", "scenario files or folders (repeatable); 'catalog:happy' names part of the "
                                    "bundled catalog; default: the whole catalog"),
    ("target-cmd", "store", "CMD", "start the receiver under test with this shell command ({port} is filled in; "
                                   "the seed's environment variables are set)"),
    ("worker", "store", "PATH", "run this Cloudflare Worker (its wrangler.toml folder or entry file) in Miniflare "
                                "as the receiver under test (docs/worker.md)"),
    ("stack", "store", "FILE", "a running stack: the JSON line of `tiersync serve --json` saved to FILE"),
    ("target", "store", "URL", "with --tiersync-stack: the base URL of the receiver under test"),
    ("webhook-secret", "store", "WHSEC", "with --tiersync-stack: the whsec_ your receiver verifies with"),
    ("webhook-path", "store", "PATH", "the receiver's webhook path (default /webhook/stripe)"),
    ("target-timeout", "store", "SECONDS", "how long --tiersync-target-cmd may take to listen (default 60)"),
    ("isolation", "store", "scenario|session", "with --tiersync-target-cmd: a fresh world and process for every "
                                               "scenario (default: 'scenario') or one for the session"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tiersync", "tiersync: Stripe + Clerk billing simulators and scenarios")
    for name, action, metavar, help_text in _OPTIONS:
        dest = "tiersync_" + name.replace("-", "_")
        group.addoption(f"--tiersync-{name}", action=action, dest=dest, metavar=metavar, default=None,
                        help=help_text)
        parser.addini(dest, help=help_text, type="linelist" if action == "append" else "string", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tiersync_scenarios(*paths): parametrize this test's tiersync_scenario "
                                       "over these scenario files or folders (relative to the test file)")
    _isolation(config)  # a wrong value is a usage error now, not a failure per test


def _option(config: pytest.Config, name: str):
    """Command line first, then the ini file; ini paths are relative to the ini file's folder."""
    dest = "tiersync_" + name.replace("-", "_")
    value = config.getoption(dest)
    if value:
        return value, Path(config.invocation_params.dir)
    value = config.getini(dest)
    if value:
        base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        return value, base
    return None, None


def _resolve_path(raw: str, base: Path) -> Path:
    raw = raw.strip()
    if raw.startswith(CATALOG_PREFIX):
        return catalog_dir() / raw[len(CATALOG_PREFIX):].lstrip("/")
    p = Path(raw).expanduser()
    return p if p.is_absolute() else base / p


# ---- scenario parametrization ------------------------------------------------------------------------------
def _scenario_paths(metafunc: pytest.Metafunc) -> list[Path]:
    marker = metafunc.definition.get_closest_marker("tiersync_scenarios")
    if marker is not None and marker.args:
        base = Path(metafunc.definition.path).parent
        return [_resolve_path(str(a), base) for a in marker.args]
    value, base = _option(metafunc.config, "scenarios")
    if value:
        return [_resolve_path(v, base) for v in value if v.strip()]
    return [catalog_dir()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tiersync_scenario" not in metafunc.fixturenames:
        return
    from tiersync.engine import ScenarioError, load_paths
    problem = None
    try:
        scenarios = load_paths(_scenario_paths(metafunc))
    except ScenarioError as exc:
        problem = "tiersync: the scenarios do not load:\n" + "\n".join(f"  {p}" for p in exc.problems)
    except FileNotFoundError as exc:
        problem = f"tiersync: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    if not scenarios:
        pytest.fail("tiersync: no scenarios (*.yaml, *.yml) under " +
                    ", ".join(map(str, _scenario_paths(metafunc))), pytrace=False)
    metafunc.parametrize("tiersync_scenario", scenarios, ids=[s.name for s in scenarios], indirect=True)


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


def _make_target(config: pytest.Config):
    from tiersync.engine.target import command_target, reference_target, remote_target
    cmd, cmd_base = _option(config, "target-cmd")
    stack_file, base = _option(config, "stack")
    url, _ = _option(config, "target")
    secret, _ = _option(config, "webhook-secret")
    path = (_option(config, "webhook-path")[0] or "/webhook/stripe").strip()
    timeout = float(_option(config, "target-timeout")[0] or 60)
    worker, worker_base = _option(config, "worker")
    if worker:
        if cmd or stack_file or url:
            raise pytest.UsageError("tiersync: --tiersync-worker goes alone (not with -target-cmd or -stack)")
        from tiersync.worker.target import worker_target
        return worker_target(str(_resolve_path(worker, worker_base)), webhook_path=path, timeout=min(timeout, 30))
    if cmd and (stack_file or url):
        raise pytest.UsageError("tiersync: give either --tiersync-target-cmd or --tiersync-stack/--tiersync-target")
    if cmd:
        cmd = cmd.strip()
        if cmd_base is not None and cmd_base.resolve() != Path.cwd().resolve():
            cmd = f"cd {shlex.quote(str(cmd_base))} && {cmd}"  # an ini file's command runs in its folder
        return command_target(cmd, webhook_path=path, timeout=timeout)
    if stack_file or url:
        if not (stack_file and url):
            raise pytest.UsageError("tiersync: --tiersync-stack FILE and --tiersync-target URL go together")
        return remote_target(str(_resolve_path(stack_file, base)), url.strip(), secret, webhook_path=path)
    return reference_target()


@pytest.fixture(scope="session")
def tiersync_target(request: pytest.FixtureRequest) -> Iterator[TiersyncTarget]:
    """The receiver under test (see the module doc); one per session / xdist worker."""
    from tiersync.engine.target import TargetError
    problem = None
    try:
        target = _make_target(request.config)
    except TargetError as exc:
        problem = f"tiersync: cannot start the target: {exc}"
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield TiersyncTarget(target)
    finally:
        target.close()


def _isolation(config: pytest.Config) -> str:
    value = (_option(config, "isolation")[0] or "scenario").strip()
    if value not in ("scenario", "session"):
        raise pytest.UsageError(f"tiersync: --tiersync-isolation is 'scenario' or 'session', not {value!r}")
    return value


class ScenarioCase:
    """One scenario of the parametrization: ``.scenario``, ``.run()``, ``.result`` after it.

    Where it runs: the reference receiver and a remote target are the session's ``tiersync_target`` (the
    engine re-seeds the reference world before each scenario; a remote one cannot be). A command target is
    started afresh for each scenario (new simulators, new world, new process), since scenarios change the
    world (product metadata, extra endpoints, a one-time promotion code) and a process keeps its state;
    ``--tiersync-isolation session`` shares one instead (faster; scenarios may then disturb each other)."""

    def __init__(self, scenario, request: pytest.FixtureRequest):
        self.scenario = scenario
        self._request = request
        self.result = None

    @property
    def name(self) -> str:
        return self.scenario.name

    def _fresh(self) -> bool:
        config = self._request.config
        return bool(_option(config, "target-cmd")[0]) and _isolation(config) == "scenario"

    def run(self, *, seed: int | None = None, check: bool = True):
        """Play the scenario; with ``check`` (the default) fail the test when it fails, skip it when it does
        not apply to this target. Returns the engine's ``ScenarioResult``."""
        from tiersync.engine.runner import run_scenario
        from tiersync.engine.target import TargetError
        fresh = self._fresh()
        if fresh:
            pool = self._request.getfixturevalue("_tiersync_fresh_targets")
            problem = None
            try:
                target = TiersyncTarget(pool.take(prestart_next=_next_wants_scenario(self._request)))
            except TargetError as exc:
                problem = f"tiersync: cannot start the target: {exc}"
            if problem:
                pytest.fail(problem, pytrace=False)
        else:
            target = self._request.getfixturevalue("tiersync_target")
        try:
            self.result = run_scenario(self.scenario, target.target, seed=seed)
            message = format_failure(self.scenario, self.result, target) if not self.result.passed else ""
        finally:
            if fresh:
                target.close()
        if check:
            if self.result.passed and self.result.message.startswith("skipped"):
                pytest.skip(f"{self.name}: {self.result.message}")
            if not self.result.passed:
                pytest.fail(message, pytrace=False)
        return self.result

    def __repr__(self) -> str:
        return f"<tiersync scenario {self.name}>"


_NEXT_ITEM = pytest.StashKey[object]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    item.stash[_NEXT_ITEM] = nextitem  # to start the next scenario's target while this one runs
    yield


def _next_wants_scenario(request: pytest.FixtureRequest) -> bool:
    nextitem = request.node.stash.get(_NEXT_ITEM, None)
    return nextitem is not None and "tiersync_scenario" in getattr(nextitem, "fixturenames", ())


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
            future = self._executor.submit(_make_target, self.config)
        if prestart_next:
            self._spare = self._executor.submit(_make_target, self.config)
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


def format_failure(scenario, result, target: TiersyncTarget | None = None) -> str:
    lines = [f"scenario {scenario.name!r} failed: {result.message}",
             f"  catches: {scenario.catches}"]
    if scenario.path:
        lines.append(f"  file:    {scenario.path}")
    lines.append("  timeline:")
    for rec in result.timeline:
        mark = "ok  " if rec.ok else "FAIL"
        lines.append(f"    {mark} {rec.index:>2}. {rec.summary or rec.kind}"
                     f" ({rec.ms:.0f} ms)")
    failed = next((r for r in result.timeline if not r.ok), None)
    if failed is not None:
        lines.append(f"  failing step {failed.index} ({failed.kind}): {failed.message}")
        for ex in failed.exchanges[-3:]:
            lines.append(f"    {ex.method} {ex.url} -> {ex.status}: {ex.response_body[:300]}")
        for d in failed.deliveries[-5:]:
            lines.append(f"    delivery {d.get('type')} -> {d.get('status')} {d.get('outcome')} "
                         f"{(d.get('response_body') or d.get('error') or '')[:200]}")
            lines += [f"      | {c[:300]}" for c in (d.get("console") or [])[-12:]]  # a Worker's console
        if failed.state:
            lines.append(f"    state after the step: {json.dumps(failed.state, default=str)[:600]}")
    if target is not None:
        tail = target.log_tail()
        if tail:
            lines.append(f"  the target's output ({target.log_path}, last lines):")
            lines += ["    " + line for line in tail.splitlines()]
    return "\n".join(lines)


@pytest.fixture
def tiersync_scenario(request: pytest.FixtureRequest) -> ScenarioCase:
    if not hasattr(request, "param"):
        pytest.fail("tiersync_scenario is parametrized by the tiersync plugin; is it disabled (-p no:tiersync)?",
                    pytrace=False)
    return ScenarioCase(request.param, request)


# ---- simulators -------------------------------------------------------------------------------------------
class StripeServer:
    """A ``StripeSim`` served over HTTP: ``.url``, ``.sim``, ``.client()``, ``.live_client()``."""

    def __init__(self):
        from tiersync.server import ThreadedServer
        from tiersync.stripe_sim import StripeSim
        self.sim = StripeSim()
        self.server = ThreadedServer(self.sim, port=0).start()
        self.sim.public_url = self.server.url

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None = None, **kw):
        """A ``stripe.StripeClient`` on this server, for the test key (or ``key``), without retries."""
        import stripe
        kw.setdefault("max_network_retries", 0)
        kw.setdefault("base_addresses", {"api": self.url})
        return stripe.StripeClient(key or self.sim.test_key, **kw)

    def live_client(self, **kw):
        return self.client(self.sim.live_key, **kw)

    def reset(self):
        self.sim.reset()

    def stop(self):
        self.server.stop()
        self.sim.webhooks.close()


@pytest.fixture(scope="session")
def _tiersync_stripe_session() -> Iterator[StripeServer]:
    server = StripeServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tiersync_stripe(_tiersync_stripe_session: StripeServer) -> StripeServer:
    """The session's served Stripe simulator, emptied for this test."""
    _tiersync_stripe_session.reset()
    return _tiersync_stripe_session


@pytest.fixture(scope="session")
def _tiersync_clerk_session():
    from tiersync.clerk_sim import ClerkSim
    sim = ClerkSim()
    server = sim.serve(port=0).start()
    try:
        yield server
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def tiersync_clerk(_tiersync_clerk_session):
    """The session's served Clerk simulator (a ``ClerkSimServer``), emptied for this test."""
    _tiersync_clerk_session.sim.reset()
    return _tiersync_clerk_session


@pytest.fixture(scope="session")
def _tiersync_stack_session():
    from tiersync.stack import Stack
    stack = Stack().start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def tiersync_stack(_tiersync_stack_session):
    """The session's stack (simulators + seeded world + reference receiver), re-seeded for this test."""
    _tiersync_stack_session.reset()
    return _tiersync_stack_session


@pytest.fixture
def tiersync_stripe_mock():
    """In-process Stripe for this test: the SDK's default client reaches a fresh ``StripeSim``."""
    from tiersync.stripe_sim import mock_stripe
    with mock_stripe() as sim:
        yield sim


# ---- signed events with expectations ------------------------------------------------------------------------
_ID_PREFIX = {"customer.subscription": ("sub", "subscription"), "checkout.session": ("cs_test", "checkout.session"),
              "customer": ("cus", "customer"), "invoice": ("in", "invoice"), "product": ("prod", "product"),
              "price": ("price", "price"), "payment_intent": ("pi", "payment_intent")}
DEFAULT_TOLERANCE = 300


def _default_object(event_type: str) -> dict:
    for prefix, (id_prefix, kind) in _ID_PREFIX.items():
        if event_type.startswith(prefix + "."):
            return {"id": f"{id_prefix}_{_secrets.token_hex(8)}", "object": kind}
    return {"id": f"obj_{_secrets.token_hex(8)}", "object": event_type.rsplit(".", 1)[0]}


@dataclass
class Sent:
    """One request the sender made and what came back (``status`` None: no answer, see ``error``)."""
    event_id: str
    event_type: str
    copy: int
    status: int | None
    body: str
    ms: float
    faults: list[str] = field(default_factory=list)
    error: str | None = None


class ExpectedEvent:
    """An event to send and the answer expected; every method returns self, to chain."""

    def __init__(self, sender: WebhookSender, index: int, event: dict):
        self.sender = sender
        self.index = index
        self.event = event
        self.faults: dict[str, Any] = {}
        self.copies = 1
        self.concurrent = False
        self.statuses: tuple[int, ...] | None = None
        self.status_class: int | None = None  # 2 for "any 2xx"
        self.body_contains: list[str] = []
        self.max_ms: float | None = None
        self.sent: list[Sent] = []

    # -- what to send --
    def with_fault(self, *, timestamp_offset: int | None = None, header: str | None = None,
                   body: str | None = None, secret: str | None = None) -> ExpectedEvent:
        """Break the request on purpose: ``timestamp_offset`` (seconds, e.g. -600), ``header`` ("missing",
        "malformed", "no_v1"), ``body`` ("reserialized", "crlf": changed after signing), ``secret`` (a
        ``whsec_`` to sign with instead, or "wrong" for a random one)."""
        from tiersync.signer import BODY_FAULTS, HEADER_FAULTS
        if header is not None and header not in HEADER_FAULTS:
            raise ValueError(f"header fault must be one of {', '.join(HEADER_FAULTS)}, not {header!r}")
        if body is not None and body not in BODY_FAULTS:
            raise ValueError(f"body fault must be one of {', '.join(BODY_FAULTS)}, not {body!r}")
        if secret == "wrong":
            secret = "whsec_" + _secrets.token_hex(16)
        for key, value in (("timestamp_offset", timestamp_offset), ("header", header), ("body", body),
                           ("secret", secret)):
            if value is not None:
                self.faults[key] = value
        return self

    def duplicate(self, copies: int = 2, *, concurrent: bool = False) -> ExpectedEvent:
        """Send the same signed request ``copies`` times (at once with ``concurrent``); each answer is checked."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.copies, self.concurrent = copies, concurrent
        return self

    # -- what to expect --
    def respond_with_status(self, status: int) -> ExpectedEvent:
        self.statuses, self.status_class = (int(status),), None
        return self

    def respond_with_status_in(self, *statuses: int) -> ExpectedEvent:
        self.statuses, self.status_class = tuple(int(s) for s in statuses), None
        return self

    def respond_with_2xx(self) -> ExpectedEvent:
        self.statuses, self.status_class = None, 2
        return self

    def respond_with_body_containing(self, text: str) -> ExpectedEvent:
        self.body_contains.append(text)
        return self

    def within_ms(self, ms: float) -> ExpectedEvent:
        self.max_ms = ms
        return self

    # -- checking --
    @property
    def broken(self) -> bool:
        """Faulted so that a correct receiver must refuse it: another secret, a header or body fault, or a
        timestamp older than the SDKs' default tolerance (300 s; newer ones and small skews are accepted)."""
        return any(k in self.faults for k in ("header", "body", "secret")) \
            or self.faults.get("timestamp_offset", 0) < -DEFAULT_TOLERANCE

    def describe(self) -> str:
        faults = ", ".join(f"{k}={v if k != 'secret' else 'other'}" for k, v in self.faults.items())
        dup = f" x{self.copies}{' concurrent' if self.concurrent else ''}" if self.copies > 1 else ""
        return (f"#{self.index} {self.event['type']} ({self.event['id']})" + (f" [fault: {faults}]" if faults else "")
                + dup)

    def expected_status(self) -> str:
        if self.statuses:
            return " or ".join(map(str, self.statuses))
        if self.status_class == 2 or (self.status_class is None and not self.broken):
            return "2xx"
        return "4xx"

    def mismatches(self) -> list[str]:
        out = []
        for s in self.sent:
            where = self.describe() + (f" copy {s.copy}/{self.copies}" if self.copies > 1 else "")
            if s.status is None:
                out.append(f"{where}: no answer ({s.error})")
                continue
            if self.statuses:
                ok = s.status in self.statuses
            elif self.status_class == 2 or (self.status_class is None and not self.broken):
                ok = 200 <= s.status < 300
            else:
                ok = 400 <= s.status < 500
            if not ok:
                out.append(f"{where}: expected status {self.expected_status()}, got {s.status} "
                           f"(body: {s.body[:200]!r})")
            for text in self.body_contains:
                if text not in s.body:
                    out.append(f"{where}: expected the body to contain {text!r}, got {s.body[:200]!r}")
            if self.max_ms is not None and s.ms > self.max_ms:
                out.append(f"{where}: answered in {s.ms:.0f} ms, expected at most {self.max_ms:g} ms")
        return out


def _plain(value):
    """JSON-ready: SDK objects (``StripeObject``) to dicts, ``Decimal`` to the strings Stripe sends."""
    from decimal import Decimal
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class WebhookSender:
    """Signed Stripe events to one webhook URL, with the answers expected (see the module doc)."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, test_mode: bool = True):
        if not url:
            raise ValueError("the sender needs the receiver's webhook url")
        if not secret:
            raise ValueError("the sender needs the webhook signing secret (whsec_...)")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.test_mode = test_mode
        self.expectations: list[ExpectedEvent] = []
        self._lock = threading.Lock()

    def expect_event(self, event_type: str, object: dict | None = None, *, id: str | None = None,  # noqa: A002
                     livemode: bool = False, previous_attributes: dict | None = None,
                     event: dict | None = None) -> ExpectedEvent:
        """Declare an event to send; returns its expectation (by default: a 2xx, or a 4xx when faulted)."""
        if event is None:
            event = {"id": id or f"evt_{_secrets.token_hex(12)}", "object": "event",
                     "api_version": "2026-10-28.endive", "created": int(time.time()),
                     "data": {"object": object if object is not None else _default_object(event_type)},
                     "livemode": livemode, "pending_webhooks": 1,
                     "request": {"id": None, "idempotency_key": None}, "type": event_type}
            if previous_attributes is not None:
                event["data"]["previous_attributes"] = previous_attributes
        else:
            event = {**event, "type": event.get("type", event_type)}
            event.setdefault("id", id or f"evt_{_secrets.token_hex(12)}")
        exp = ExpectedEvent(self, len(self.expectations) + 1, _plain(event))
        self.expectations.append(exp)
        return exp

    @property
    def results(self) -> list[Sent]:
        return [s for e in self.expectations for s in e.sent]

    @property
    def pending(self) -> list[ExpectedEvent]:
        return [e for e in self.expectations if not e.sent]

    def _post(self, client, exp: ExpectedEvent, copy: int, request) -> Sent:
        started = time.perf_counter()
        try:
            r = client.post(self.url, content=request.body, headers=request.headers)
            status, body, error = r.status_code, r.text, None
        except Exception as exc:  # the receiver is down or hung: an answer of its own kind
            status, body, error = None, "", f"{type(exc).__name__}: {exc}"
        return Sent(exp.event["id"], exp.event["type"], copy, status, body,
                    (time.perf_counter() - started) * 1000, list(request.faults), error)

    def send_all(self) -> list[Sent]:
        """Send every declared event not sent yet, in order; returns what was sent now."""
        import httpx

        from tiersync.signer import build_request
        sent_now: list[Sent] = []
        with self._lock, httpx.Client(timeout=self.timeout) as client:
            for exp in self.pending:
                f = exp.faults
                request = build_request(exp.event, self.secret, test_mode=self.test_mode and not
                                        exp.event.get("livemode"), secret_override=f.get("secret"),
                                        timestamp_offset=f.get("timestamp_offset", 0), header=f.get("header"),
                                        body=f.get("body"))
                if exp.concurrent and exp.copies > 1:
                    from concurrent.futures import ThreadPoolExecutor
                    with ThreadPoolExecutor(max_workers=exp.copies) as pool:
                        results = list(pool.map(lambda i, e=exp, r=request: self._post(client, e, i + 1, r),
                                                range(exp.copies)))
                else:
                    results = [self._post(client, exp, i + 1, request) for i in range(exp.copies)]
                exp.sent = results
                sent_now += results
        return sent_now

    def mismatches(self) -> list[str]:
        return [m for e in self.expectations for m in e.mismatches()]

    def check_assertions(self) -> None:
        """Send what is pending, then raise one AssertionError listing every mismatch."""
        self.send_all()
        problems = self.mismatches()
        if problems:
            raise AssertionError(f"{len(problems)} webhook expectation(s) not met (to {self.url}):\n"
                                 + "\n".join(f"  - {p}" for p in problems))

    def clear(self) -> None:
        """Forget every declared event and answer."""
        self.expectations.clear()

    def __repr__(self) -> str:
        return f"<tiersync webhook sender to {self.url}: {len(self.expectations)} events>"


@pytest.fixture
def tiersync_webhooks(request: pytest.FixtureRequest):
    """``tiersync_webhooks(url=None, secret=None, *, target=None, timeout=10)`` -> a ``WebhookSender``.
    Without url/secret it aims at ``target`` (anything with ``webhook_url`` and ``webhook_secret``, e.g. a
    ``Stack`` or the ``tiersync_target``), by default the ``tiersync_target`` fixture."""
    senders: list[WebhookSender] = []

    def make(url: str | None = None, secret: str | None = None, *, target=None, timeout: float = 10.0,
             test_mode: bool = True) -> WebhookSender:
        if url is None or secret is None:
            if target is None:
                target = request.getfixturevalue("tiersync_target")
            url = url or _webhook_url(target)
            secret = secret or _webhook_secret(target)
        sender = WebhookSender(url, secret, timeout=timeout, test_mode=test_mode)
        senders.append(sender)
        return sender

    yield make
    unsent = [e.describe() for s in senders for e in s.pending]
    if unsent:
        warnings.warn(pytest.PytestWarning(
            f"tiersync_webhooks: {len(unsent)} declared event(s) never sent (call send_all() or "
            f"check_assertions()): {', '.join(unsent[:5])}"), stacklevel=1)


def _webhook_url(target) -> str:
    url = getattr(target, "webhook_url", None)
    if url:
        return url
    server = getattr(target, "receiver_server", None)  # a tiersync.stack.Stack
    if server is not None:
        return f"{server.url}/webhook/stripe"
    raise ValueError(f"{target!r} has no webhook url; pass url=")


def _webhook_secret(target) -> str:
    secret = getattr(target, "webhook_secret", None)
    if secret:
        return secret
    world = getattr(target, "world", None)
    secret = getattr(world, "webhook_secret", None)
    if secret:
        return secret
    raise ValueError(f"{target!r} has no webhook secret; pass secret=")


__all__ = ["ExpectedEvent", "ScenarioCase", "Sent", "StripeServer", "TiersyncTarget", "WebhookSender",
           "catalog_dir", "format_failure"]
