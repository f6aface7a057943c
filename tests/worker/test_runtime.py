"""Running a Cloudflare Worker in Miniflare: bindings from wrangler.toml and from the caller, outbound calls
routed to the simulators or blocked, console lines per request, and clear errors (esbuild's, workerd's) for
Workers that cannot run. Needs node and npm (the toolchain installs into the cache on first use)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from tiersync.worker.project import ProjectError, load_project
from tiersync.worker.runtime import ConsoleRecord, WorkerError, WorkerRuntime

WORKERS = Path(__file__).parent / "workers"
needs_node = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")),
                                reason="running a Worker needs node and npm")


def _runtime(name: str, stripe_url: str = "http://127.0.0.1:9", **kw) -> WorkerRuntime:
    return WorkerRuntime(WORKERS / name, {"STRIPE_SECRET_KEY": kw.pop("key", "sk_test_x")},
                         {"api.stripe.com": stripe_url}, **kw)


@needs_node
def test_bindings_kv_d1_routed_and_blocked_calls(stripe_server):
    runtime = _runtime("hello", stripe_server.url, key=stripe_server.app.test_key).start()
    try:
        r = httpx.get(runtime.url + "/check", timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["greeting"] == "hello from [vars]"
        assert body["kv"] == "v" and body["d1"] == 42
        assert body["stripe"] == {"status": 200, "object": "list"}  # answered by the simulator
        assert body["elsewhere"].startswith("502 tiersync blocked GET https://example.com/track")
        deadline = time.monotonic() + 5  # the driver reports the request just after its answer
        while not any(r.path == "/check" for r in runtime.records) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runtime.blocked_hosts() == ["GET https://example.com/track (1x)"]  # reported before the record
        record = next(r for r in runtime.records if r.path == "/check")
        assert record.status == 200
        texts = [ln["text"] for ln in record.lines]
        assert texts[:2] == ['checking {"path":"/check"}', "example.com unreachable"]
        assert [ln["level"] for ln in record.lines] == ["log", "warn", "debug"]
    finally:
        runtime.close()
    assert runtime.timings.start_s > 0 and runtime.timings.bundle_s > 0


@needs_node
def test_a_worker_that_does_not_bundle_gets_esbuilds_message():
    started = time.monotonic()
    with pytest.raises(WorkerError) as err:
        _runtime("syntax/index.js").start()
    message = str(err.value)
    assert "esbuild could not bundle" in message and "index.js" in message
    assert "Expected" in message  # esbuild's own words about the missing parenthesis
    assert time.monotonic() - started < 30


@needs_node
def test_a_worker_that_throws_at_start_up_gets_workerds_message():
    with pytest.raises(WorkerError) as err:
        _runtime("throws/index.js").start()
    assert "failed to start" in str(err.value)
    assert "boom at start-up: CONFIG missing" in str(err.value)


@needs_node
def test_a_worker_that_never_answers_is_reported_within_seconds():
    started = time.monotonic()
    with pytest.raises(WorkerError) as err:
        _runtime("hangs/index.js", answer_timeout=2).start()
    assert "did not answer GET / within 2s" in str(err.value)
    assert time.monotonic() - started < 25


def test_bindings_tiersync_cannot_provide_are_named():
    with pytest.raises(ProjectError) as err:
        load_project(WORKERS / "durable")
    assert "durable_objects" in str(err.value)


def test_project_from_folder_or_entry_file():
    from_folder = load_project(WORKERS / "hello")
    assert from_folder.entry == (WORKERS / "hello" / "src" / "index.ts").resolve()
    assert from_folder.kv_namespaces == ["NOTES"] and from_folder.d1_databases == ["DB"]
    assert from_folder.vars == {"GREETING": "hello from [vars]"}
    assert from_folder.compatibility_date == "2024-01-01"
    from_entry = load_project(WORKERS / "hello" / "src" / "index.ts")  # wrangler.toml one folder up
    assert from_entry.kv_namespaces == ["NOTES"]
    with pytest.raises(ProjectError, match="no wrangler.toml"):
        load_project(WORKERS)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(WORKERS / "missing")


def test_console_lines_go_beside_each_delivery_try_in_order():
    runtime = WorkerRuntime("unused", {}, {})
    runtime.records += [ConsoleRecord("POST", "/webhook", 500, "evt_1", [{"level": "error", "text": "first"}]),
                        ConsoleRecord("GET", "/api/usage", 200, None, [{"level": "log", "text": "other"}]),
                        ConsoleRecord("POST", "/webhook", 200, "evt_1", [{"level": "log", "text": "second"}])]
    tries = [{"id": "att_1", "event": "evt_1", "status": 500}, {"id": "att_2", "event": "evt_1", "status": 200},
             {"id": "att_3", "event": "evt_2", "status": None}]
    runtime.annotate(tries, wait=0)
    assert [t.get("console") for t in tries] == [["error: first"], ["log: second"], None]
    again = [{"id": "att_2", "event": "evt_1", "status": 200}]  # a later report of the same try: same lines
    runtime.annotate(again, wait=0)
    assert again[0]["console"] == ["log: second"]
    runtime.close()


@needs_node
def test_the_log_file_has_each_request_with_its_console_and_no_key(stripe_server, tmp_path):
    log = tmp_path / "worker.log"
    runtime = _runtime("hello", stripe_server.url, key=stripe_server.app.test_key, log_path=str(log)).start()
    try:
        assert httpx.get(runtime.url + "/check", timeout=10).status_code == 200
        deadline = time.monotonic() + 5
        while "GET /check -> 200" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runtime.close()
    text = log.read_text()
    assert "GET /check -> 200\n  log: checking {\"path\":\"/check\"}\n  warn: example.com unreachable\n" in text
    assert stripe_server.app.test_key not in text
    assert f"debug: with key sk_test_****{stripe_server.app.test_key[-4:]}" in text
