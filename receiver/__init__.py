"""The reference receiver: the seed application's API (Stripe webhooks -> Clerk tiers -> usage limits)
rebuilt the way it should be: raw-body verification, dedupe with a unique constraint, a handler
registry, state re-fetched from Stripe rather than trusted from event order, 5xx on failure so Stripe
retries. `create_app(Settings.from_env())` builds the ASGI app; `python -m tiersync.receiver` serves it."""

from .app import create_app
from .settings import ConfigError, Settings

__all__ = ["create_app", "Settings", "ConfigError"]
