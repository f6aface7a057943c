"""The receiver's ASGI app."""

from __future__ import annotations

import logging

import stripe
from starlette.applications import Starlette
from starlette.routing import Route

from . import api, page
from .clerk import ClerkGateway
from .settings import ConfigError, Settings
from .storage import Storage
from .sync import BillingSync, metadata_value
from .webhook import stripe_webhook

log = logging.getLogger("tiersync.receiver")


def stripe_client(settings: Settings) -> stripe.StripeClient:
    # the SDK's own HTTP client with our timeout; no SDK retries: a prompt 5xx lets Stripe's own retry
    # schedule redeliver the event, instead of holding the webhook open
    kw = {"max_network_retries": 0, "http_client": stripe.RequestsClient(timeout=settings.request_timeout)}
    if settings.stripe_api_base:
        kw["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(settings.stripe_secret_key, **kw)


def check_remote(settings: Settings, client: stripe.StripeClient):
    """Start-up check against Stripe: every configured price exists in the key's mode and is recurring."""
    problems = []
    for tier, price_id in settings.price_ids.items():
        try:
            price = client.v1.prices.retrieve(price_id, params={"expand": ["product"]})
        except stripe.InvalidRequestError as exc:
            problems.append(f"STRIPE_PRICE_ID_{tier.upper()}: {exc.user_message}")
            continue
        except stripe.StripeError as exc:
            log.warning("could not check STRIPE_PRICE_ID_%s: %s", tier.upper(), exc.user_message or exc)
            continue
        if price.type != "recurring":
            problems.append(f"STRIPE_PRICE_ID_{tier.upper()} ({price_id}) is a one-time price, not recurring")
        plan = metadata_value(price.product, "plan")
        if plan is None:
            problems.append(f"STRIPE_PRICE_ID_{tier.upper()}: product {price.product.id} has no metadata.plan")
        elif plan.strip().lower() != tier:
            problems.append(f"STRIPE_PRICE_ID_{tier.upper()}: product {price.product.id} has metadata.plan="
                            f"{plan!r}, expected {tier!r}")
        elif plan != tier:  # the sync reads it, with a warning each time: say so once, up front
            log.warning("STRIPE_PRICE_ID_%s: product %s has metadata.plan=%r; read as %r, but set it to %r",
                        tier.upper(), price.product.id, plan, tier, tier)
    if settings.portal_config_id:
        try:
            client.v1.billing_portal.configurations.retrieve(settings.portal_config_id)
        except stripe.InvalidRequestError as exc:
            problems.append(f"STRIPE_PORTAL_CONFIG_ID: {exc.user_message}")
        except stripe.StripeError:
            pass
    if problems:
        raise ConfigError(problems)


def create_app(settings: Settings, *, storage: Storage | None = None, clerk: ClerkGateway | None = None,
               verify_remote: bool = False) -> Starlette:
    client = stripe_client(settings)
    if verify_remote:
        check_remote(settings, client)
    storage = storage or Storage(settings.database)
    clerk = clerk or ClerkGateway(settings.clerk_secret_key, settings.clerk_api_url, settings.request_timeout,
                                  authorized_parties=list(settings.authorized_parties) or None)
    app = Starlette(routes=[
        Route("/", page.app_page, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
        Route("/webhook/stripe", stripe_webhook, methods=["POST"]),
        Route("/api/me", api.me, methods=["GET"]),
        Route("/api/usage", api.usage, methods=["GET"]),
        Route("/api/data", api.data, methods=["POST"]),
        Route("/api/create-checkout", api.create_checkout, methods=["POST"]),
        Route("/api/customer-portal", api.customer_portal, methods=["POST"]),
        Route("/admin/sync-errors", api.sync_errors, methods=["GET"]),
    ])
    app.state.settings = settings
    app.state.storage = storage
    app.state.stripe = client
    app.state.clerk = clerk
    app.state.sync = BillingSync(settings, client, clerk, storage)
    return app
