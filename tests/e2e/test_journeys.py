"""The browser journeys against the reference receiver's app page on the simulators."""

from __future__ import annotations

import pytest

from tiersync.browser.journeys import JOURNEYS


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_journey(page, stack, name):
    page.set_default_timeout(15_000)
    summary = JOURNEYS[name](page, stack)
    assert summary
