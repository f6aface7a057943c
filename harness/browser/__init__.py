"""Browser journeys in Playwright: page objects for the app, Clerk's hosted sign-up, Stripe Checkout and the
Customer Portal (the selectors real end-to-end suites use, CONTRACTS §5), and journeys built from them."""

from .pages import AppPage, CheckoutPage, ClerkSignUpPage, PortalPage

__all__ = ["AppPage", "CheckoutPage", "ClerkSignUpPage", "PortalPage"]
