"""One module per Stripe resource: plain operations on the store, each exposed by one `@route`."""

from . import (  # noqa: F401
    billing_portal,
    checkout,
    coupons,
    customers,
    events,
    invoice_items,
    invoices,
    payment_methods,
    prices,
    products,
    promotion_codes,
    seeding,
    sim_admin,
    subscription_items,
    subscriptions,
    test_clocks,
    webhook_admin,
    webhook_endpoints,
)
