"""One Worker running in Miniflare: bundled, started by the Node driver, its outbound requests routed to the
simulators, its console output kept per request. `WorkerRuntime(...).start()` raises WorkerError with
esbuild's or workerd's own message when the Worker cannot run; it never waits longer than its timeouts."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..signer import mask
from .bundle import BundleError, bundle
from .project import ProjectError, WorkerProject, load_project
from .toolchain import DRIVER, ToolchainError, toolchain_dir

# flags that make node:async_hooks importable (the wrapper's per-request console)
ALS_FLAGS = {"nodejs_als", "nodejs_compat", "nodejs_compat_v2"}


class WorkerError(Exception):
    """The Worker cannot run here: why, quoting esbuild, workerd or npm."""


@dataclass
class WorkerTimings:
    bundle_s: float = 0.0
    start_s: float = 0.0   # driver launched (it loads Miniflare while esbuild bundles) until the Worker answered


@dataclass
class ConsoleRecord:
    method: str
    path: str
    status: int | None
    event: str | None
    lines: list[dict]
    ms: float | None = None


@dataclass
class WorkerRuntime:
    path: str | Path
    bindings: dict[str, str]          # secrets and vars from the simulators' world (over wrangler's [vars])
    routes: dict[str, str]            # real host -> simulator base URL
    port: int = 0
    start_timeout: float = 20.0
    answer_timeout: float = 5.0
    project: WorkerProject | None = None
    url: str | None = None
    timings: WorkerTimings = field(default_factory=WorkerTimings)
    records: list[ConsoleRecord] = field(default_factory=list)
    blocked: dict[str, int] = field(default_factory=dict)  # "METHOD https://host/path" -> times
    runtime_lines: deque = field(default_factory=lambda: deque(maxlen=200))
    log_path: str | None = None  # every request's console lines and workerd's output, appended as they come

    def __post_init__(self):
        self._proc: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._error: str | None = None
        self._lock = threading.Lock()
        self._assigned: dict[str, int] = {}  # delivery try id -> index in records
        self._tmp = Path(tempfile.mkdtemp(prefix="tiersync-worker-"))
        self.on_console = None  # optional callback(ConsoleRecord), e.g. `tiersync serve` printing lines

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> WorkerRuntime:
        try:
            self.project = self.project or load_project(self.path)
            toolchain = toolchain_dir()
            self._launch(toolchain)  # loads Miniflare while esbuild bundles
            script, self.timings.bundle_s = bundle(self.project, toolchain, self._tmp)
        except (ProjectError, ToolchainError, BundleError) as exc:
            self.close()
            raise WorkerError(str(exc)) from None
        except BaseException:
            self.close()
            raise
        try:
            self._configure(script)
            self._wait_ready()
            self._check_answers()
        except BaseException:
            self.close()
            raise
        return self

    def _config(self, script: Path) -> dict:
        p = self.project
        flags = list(p.compatibility_flags)
        if not ALS_FLAGS & set(flags):
            flags.append("nodejs_als")
        bindings = {**p.vars, **self.bindings}
        return {"name": p.name, "script": str(script), "compatibilityDate": p.compatibility_date,
                "compatibilityFlags": flags, "bindings": bindings, "kvNamespaces": p.kv_namespaces,
                "d1Databases": p.d1_databases, "r2Buckets": p.r2_buckets, "routes": self.routes,
                "port": self.port}

    def _launch(self, toolchain: Path):
        self._started_at = time.monotonic()
        self._proc = subprocess.Popen(["node", str(toolchain / DRIVER)], cwd=self._tmp,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        threading.Thread(target=self._read, name="tiersync-worker-driver", daemon=True).start()

    def _configure(self, script: Path):
        """Hand the driver its config (one line on stdin: the file's path); stdin stays open: its end stops it."""
        config = self._tmp / "config.json"
        config.write_text(json.dumps(self._config(script)), encoding="utf-8")
        try:
            self._proc.stdin.write(f"{config}\n".encode())
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # the driver already exited: _wait_ready reports what it said

    def _read(self):
        proc = self._proc  # close() may clear the attribute meanwhile
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                msg = {"runtime": line}
            if not isinstance(msg, dict):
                msg = {"runtime": line}
            self._handle(msg)
        if not self._ready.is_set():
            self._error = self._error or f"the Worker driver exited (code {proc.wait()})"
            self._ready.set()

    def _handle(self, msg: dict):
        if "ready" in msg:
            self.url = msg["ready"].rstrip("/")
            self._ready.set()
        elif "error" in msg:
            self._error = msg["error"]
            self._ready.set()
        elif "console" in msg:
            c = msg["console"]
            record = ConsoleRecord(method=c.get("method", ""), path=c.get("path", ""), status=c.get("status"),
                                   event=c.get("event"), lines=list(c.get("lines") or []), ms=c.get("ms"))
            with self._lock:
                self.records.append(record)
            self._log(f"{record.method} {record.path}" + (f" ({record.event})" if record.event else "")
                      + f" -> {record.status}", *(f"  {ln.get('level')}: {ln.get('text')}" for ln in record.lines))
            if self.on_console:
                self.on_console(record)
        elif "blocked" in msg:
            b = msg["blocked"]
            key = f"{b.get('method')} {b.get('url')}"
            with self._lock:
                self.blocked[key] = self.blocked.get(key, 0) + 1
        elif "runtime" in msg:
            self.runtime_lines.append(msg["runtime"])
            self._log(f"[workerd] {msg['runtime']}")

    def _log(self, *lines: str):
        if self.log_path:  # a Worker may log its own keys: masked like every report
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write("".join(mask(line) + "\n" for line in lines))

    def _runtime_output(self) -> str:
        lines = [ln for ln in self.runtime_lines if ln.strip()]
        return "\n".join(lines[-40:])

    def _wait_ready(self):
        if not self._ready.wait(self.start_timeout):
            raise WorkerError(f"the Worker {self.project.entry} did not start within {self.start_timeout:g}s"
                              + (f"; workerd said:\n{self._runtime_output()}" if self.runtime_lines else ""))
        if self._error or not self.url:
            time.sleep(0.2)  # the runtime's last lines trail the driver's verdict by a moment
            said = self._runtime_output()
            raise WorkerError(f"the Worker {self.project.entry} failed to start: {self._error}"
                              + (f"\nworkerd said:\n{said}" if said else ""))

    def _check_answers(self):
        """A Worker that never answers (a handler awaiting forever) is found now, not scenario by scenario.
        Any status counts as an answer; GET / is harmless for an API."""
        import httpx
        try:
            httpx.get(self.url + "/", timeout=self.answer_timeout)
        except httpx.HTTPError as exc:
            raise WorkerError(f"the Worker {self.project.entry} started but did not answer GET / within "
                              f"{self.answer_timeout:g}s ({type(exc).__name__})"
                              + (f"; workerd said:\n{self._runtime_output()}" if self.runtime_lines else "")) from None
        self.timings.start_s = time.monotonic() - self._started_at
        deadline = time.monotonic() + 1  # the probe's console record trails its answer: let it land first
        while not self.records and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self):
        """Stop the Worker (the log file stays: its owner, the target, removes it)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            import os
            import signal
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self._tmp, ignore_errors=True)

    # ---- what the reports need ---------------------------------------------------------------------
    def annotate(self, deliveries: list[dict], wait: float = 0.5):
        """Put the Worker's console lines beside each delivery try (`delivery["console"]`). Tries are matched
        to the Worker's records of the same event in order, each record used once; a record may trail its
        response by a moment, so a try that got an answer waits for it up to `wait` seconds."""
        deadline = time.monotonic() + wait
        for d in deliveries:
            event, attempt_id = d.get("event"), d.get("id")
            if not event or not attempt_id:
                continue
            while True:
                record = self._record_for(attempt_id, event)
                if record is not None or d.get("status") is None or time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
            if record is not None:
                d["console"] = [mask(f"{ln.get('level', 'log')}: {ln.get('text', '')}") for ln in record.lines]

    def _record_for(self, attempt_id: str, event: str) -> ConsoleRecord | None:
        with self._lock:
            if attempt_id in self._assigned:
                return self.records[self._assigned[attempt_id]]
            taken = set(self._assigned.values())
            for i, r in enumerate(self.records):
                if r.event == event and i not in taken:
                    self._assigned[attempt_id] = i
                    return r
        return None

    def blocked_hosts(self) -> list[str]:
        with self._lock:
            return [f"{k} ({n}x)" for k, n in sorted(self.blocked.items())]


def run_worker(path, bindings: dict[str, str], routes: dict[str, str], **kw) -> WorkerRuntime:
    return WorkerRuntime(path, bindings, routes, **kw).start()
