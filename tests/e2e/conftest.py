"""Browser journeys run in Debian's chromium (playwright cannot download its own browser here)."""

from __future__ import annotations

import os

import pytest

from tiersync.browser.pages import CHROMIUM, CHROMIUM_ARGS


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def stack():
    from tiersync.stack import Stack
    with Stack() as s:
        yield s
