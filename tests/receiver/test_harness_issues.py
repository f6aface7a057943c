"""Harness behaviour found while testing the receiver (both fixed): retries are signed with the real clock,
and a reset empties a file database too."""

from __future__ import annotations

from tiersync.stack import Stack

from .conftest import App


def test_a_stale_timestamp_fault_stays_stale_on_retries(app):
    app.st.stripe_sim.webhooks.faults.add(kind="timestamp", offset=-600, event_type="*")
    user = app.user()
    app.upgrade(user, "pro")
    assert [a["status"] for a in app.deliveries()] == [400, 400]
    app.retry_due(3600)
    assert [a["status"] for a in app.deliveries()] == [400, 400, 400, 400]
    assert "plan" not in app.metadata(user)


def test_reset_forgets_the_receivers_state_with_a_file_database(tmp_path):
    with Stack(database=str(tmp_path / "receiver.sqlite")) as st:
        app = App(st)
        app.upgrade(app.user(), "pro")
        assert app.http.get("/health").json()["processed_events"] == 2
        st.reset()
        assert App(st).http.get("/health").json()["processed_events"] == 0
