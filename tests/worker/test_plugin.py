"""The pytest plugin's --tiersync-worker: the session's target is the Worker, on the simulators' world.
The inner runs are subprocesses: an in-process run would unload modules (httpx) the Worker runner holds."""

from __future__ import annotations

from .test_runtime import WORKERS, needs_node

pytest_plugins = ["pytester"]
QUIET = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:hypothesispytest", "-p", "no:faker")


@needs_node
def test_tiersync_target_is_the_worker(pytester):
    pytester.makepyfile(test_w="""
        import httpx

        def test_worker(tiersync_target):
            assert tiersync_target.kind == "worker"
            r = httpx.get(tiersync_target.receiver_url + "/check", timeout=10)
            assert r.json()["stripe"] == {"status": 200, "object": "list"}
            assert tiersync_target.webhook_url == tiersync_target.receiver_url + "/webhook/stripe"
    """)
    result = pytester.runpytest_subprocess("--tiersync-worker", str(WORKERS / "hello"), *QUIET)
    result.assert_outcomes(passed=1)


def test_a_worker_that_cannot_start_fails_with_its_reason(pytester):
    pytester.makepyfile(test_w="""
        def test_worker(tiersync_target):
            pass
    """)
    result = pytester.runpytest_subprocess("--tiersync-worker", "no/such/worker", *QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cannot start the target*no such file or folder*"])
