"""Page objects: each wraps a Playwright `Page`, builds its locators once and exposes intent."""

from __future__ import annotations

from playwright.sync_api import Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TEST_CARDS = {"visa": "4242 4242 4242 4242", "declined": "4000 0000 0000 0002", "fails_later": "4000 0000 0000 0341"}


class AppPage:
    """The receiver's app page (receiver/page.py)."""

    def __init__(self, page: Page, base_url: str):
        self.page, self.base_url = page, base_url.rstrip("/")
        t = page.get_by_test_id
        self.sign_up_button, self.sign_in_button = t("sign-up"), t("sign-in")
        self.dashboard, self.tier, self.user_email = t("dashboard"), t("tier"), t("user-email")
        self.usage_count, self.usage_limit = t("usage-count"), t("usage-limit")
        self.make_request_button, self.request_result = t("make-request"), t("request-result")
        self.upgrade_tier, self.upgrade_button = t("upgrade-tier"), t("upgrade")
        self.manage_billing_button, self.checkout_notice = t("manage-billing"), t("checkout-notice")
        self.billing_error = t("billing-error")

    def open(self) -> AppPage:
        self.page.goto(self.base_url + "/")
        return self

    def start_sign_up(self):
        self.sign_up_button.click()

    def expect_tier(self, name: str, timeout: float = 10_000):
        expect(self.tier).to_have_text(name, timeout=timeout)

    def make_request(self) -> str:
        self.make_request_button.click()
        expect(self.request_result).not_to_have_text("", timeout=5_000)
        return self.request_result.inner_text()

    def upgrade(self, tier: str):
        self.upgrade_tier.select_option(tier)
        self.upgrade_button.click()
        self.page.wait_for_url("**/c/pay/**")

    def manage_billing(self):
        self.manage_billing_button.click()
        self.page.wait_for_url("**/p/session/**")

    def expect_upgrade_notice(self, tier_name: str, timeout: float = 15_000):
        expect(self.checkout_notice).to_have_text(f"Your plan is now {tier_name}.", timeout=timeout)


class ClerkSignUpPage:
    """Clerk's hosted sign-up: email + password, then the e-mail code (424242 for +clerk_test addresses)."""

    def __init__(self, page: Page):
        self.page = page
        self.email = page.locator("input[name=emailAddress]")
        self.password = page.locator("input[name=password]")
        self.code = page.locator("input[name=code]")
        self.continue_button = page.get_by_role("button", name="Continue")

    def sign_up(self, email: str, password: str, code: str = "424242"):
        self.email.fill(email)
        self.password.fill(password)
        self.continue_button.click()
        self.page.wait_for_url("**/verify**")
        expect(self.page.get_by_role("heading", name="Verify your email")).to_be_visible()
        self.code.fill(code)
        self.continue_button.click()


class CheckoutPage:
    """Stripe Checkout: plain inputs with Stripe's ids."""

    def __init__(self, page: Page):
        self.page = page
        self.email = page.locator("#email")
        self.card_number, self.card_expiry, self.card_cvc = (page.locator("#cardNumber"), page.locator("#cardExpiry"),
                                                             page.locator("#cardCvc"))
        self.billing_name, self.country = page.locator("#billingName"), page.locator("select#billingCountry")
        self.postal_code = page.locator("#billingPostalCode")
        self.promotion_code = page.get_by_label("Add promotion code")
        self.apply_button = page.get_by_role("button", name="Apply")
        self.total = page.locator("#OrderDetails-TotalAmount")
        self.submit = page.locator('[data-testid="hosted-payment-submit-button"]')
        self.error = page.get_by_test_id("payment-error")

    def apply_promotion_code(self, code: str):
        self.promotion_code.fill(code)
        self.apply_button.click()

    def expect_total(self, text: str):
        expect(self.total).to_have_text(text)

    def pay_with_card(self, card: str = "visa", name: str = "Ada Lovelace", postal_code: str = "94103"):
        self.card_number.fill(TEST_CARDS.get(card, card))
        self.card_expiry.fill("12 / 34")
        self.card_cvc.fill("123")
        self.billing_name.fill(name)
        self.postal_code.fill(postal_code)
        self.submit.click()


class PortalPage:
    """The Customer Portal: cancel link uses `data-test` (not `data-testid`), as Stripe's does."""

    def __init__(self, page: Page):
        self.page = page
        self.cancel_link = page.locator('[data-test="cancel-subscription"]')
        self.confirm_button = page.locator('[data-testid="confirm"]')
        self.reason = page.locator('[data-testid="cancellation_reason_cancel"]')
        self.return_link = page.locator('[data-testid="return-to-business-link"]')
        self.cancel_date = page.get_by_test_id("cancel-date")
        self.status = page.get_by_test_id("subscription-status")

    def cancel_subscription(self):
        self.cancel_link.click()
        self.confirm_button.click()
        if self.reason.count():
            self.reason.click()

    def return_to_app(self):
        self.return_link.click()
