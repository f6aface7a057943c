"""The journeys: sign-up, checkout with a 100%-off code, the portal, cancellation. Each takes a Playwright
`Page` and a running `Stack`, asserts as it goes, and returns a line for the report."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from .pages import AppPage, CheckoutPage, ClerkSignUpPage, PortalPage


def _signed_up(page: Page, stack, name: str) -> AppPage:
    app = AppPage(page, stack.receiver_server.url).open()
    app.start_sign_up()
    ClerkSignUpPage(page).sign_up(f"{name}.{int(time.time() * 1000)}+clerk_test@example.com",
                                  "correct-horse-battery-staple")
    app.expect_tier("Free")
    return app


def sign_up(page: Page, stack) -> str:
    app = _signed_up(page, stack, "signup")
    expect(app.usage_limit).to_have_text("5")
    assert app.make_request() == "OK"
    expect(app.usage_count).to_have_text("1")
    return "signed up through Clerk's hosted page (code 424242): Free, 5 requests a month"


def upgrade_with_100_percent_code(page: Page, stack) -> str:
    app = _signed_up(page, stack, "upgrade")
    app.upgrade("pro")
    checkout = CheckoutPage(page)
    checkout.expect_total("$29.00")
    checkout.apply_promotion_code(stack.world.promotion_code)
    checkout.expect_total("$0.00")
    checkout.pay_with_card("visa")
    app.expect_upgrade_notice("Pro")
    app.expect_tier("Pro")
    expect(app.usage_limit).to_have_text("50")
    return f"checkout with {stack.world.promotion_code} ($29.00 -> $0.00): Pro, 50 requests a month"


def declined_card_stays_free(page: Page, stack) -> str:
    app = _signed_up(page, stack, "declined")
    app.upgrade("enterprise")
    checkout = CheckoutPage(page)
    checkout.pay_with_card("declined")
    expect(checkout.error).to_have_text("Your card was declined.")
    app.open()
    app.expect_tier("Free")
    return "a declined card shows Stripe's message and the user stays on Free"


def portal_cancellation(page: Page, stack) -> str:
    app = _signed_up(page, stack, "portal")
    app.upgrade("enterprise")
    CheckoutPage(page).pay_with_card("visa")
    app.expect_upgrade_notice("Enterprise")
    app.manage_billing()
    portal = PortalPage(page)
    portal.cancel_subscription()
    expect(portal.cancel_date).to_be_visible()
    portal.return_to_app()
    app.expect_tier("Enterprise")  # canceled at period end: still paid up
    return "portal cancellation at period end: still Enterprise until the period ends"


JOURNEYS: dict[str, Callable[[Page, object], str]] = {
    "sign-up": sign_up, "upgrade-with-100%-code": upgrade_with_100_percent_code,
    "declined-card": declined_card_stays_free, "portal-cancellation": portal_cancellation,
}


def run_journeys(stack, names: list[str] | None = None) -> list[tuple[str, bool, str, float]]:
    """Run journeys in headless Debian chromium: (name, ok, summary or error, seconds) each."""
    from playwright.sync_api import sync_playwright

    from .pages import CHROMIUM, CHROMIUM_ARGS
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name in names or list(JOURNEYS):
                context = browser.new_context()
                page = context.new_page()
                page.set_default_timeout(15_000)
                started = time.perf_counter()
                try:
                    results.append((name, True, JOURNEYS[name](page, stack), time.perf_counter() - started))
                except Exception as exc:  # a failing journey is a result, not a crash
                    results.append((name, False, str(exc).splitlines()[0][:300], time.perf_counter() - started))
                finally:
                    context.close()
        finally:
            browser.close()
    return results
