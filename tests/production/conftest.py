"""A production set-up in live mode, on loopback: the Stripe simulator holding a live-mode world (products,
prices, the portal, one endpoint), a Clerk simulator with live keys and the app's JWT template, and the
reference receiver deployed in live mode as the app. `world.env` is the app's settings, correct; each test
breaks one thing the seed guide warns about."""

from __future__ import annotations

import dataclasses

import pytest

from tiersync.clerk_sim import ClerkSim
from tiersync.cli import main
from tiersync.server import ThreadedServer
from tiersync.stack import seed_world
from tiersync.stripe_sim import DEFAULT_LIVE_KEY, DEFAULT_TEST_KEY, StripeSim

READ_ONLY_LIVE = "rk_live_tiersyncReadOnly51Hq7c"
READ_ONLY_TEST = "rk_test_tiersyncReadOnly51Hq7d"
CLERK_LIVE = "sk_live_tiersyncClerkProd0Zx9"
TEMPLATE = "pan-api"
PLAN_CLAIMS = {"plan": "{{user.public_metadata.plan}}"}


@dataclasses.dataclass
class LiveWorld:
    stripe: StripeSim
    clerk: ClerkSim
    stripe_url: str
    clerk_url: str
    app_url: str
    world: object
    env: dict[str, str]
    tmp_path: object

    def ctx(self, mode: str = "live"):
        return self.stripe.context(mode)

    def change(self, fn, mode: str = "live"):
        """Change the account as a Dashboard user would (through the simulator's own operations)."""
        return self.stripe.operate(mode, fn)

    def write_env(self, env: dict[str, str] | None = None, name: str = ".dev.vars") -> str:
        path = self.tmp_path / name
        path.write_text("".join(f"{k}={v}\n" for k, v in (self.env if env is None else env).items()))
        return str(path)

    def secrets(self) -> list[str]:
        """Every secret a report must never show."""
        return [self.stripe.live_key, self.stripe.test_key, READ_ONLY_LIVE, READ_ONLY_TEST, CLERK_LIVE,
                self.world.webhook_secret, self.env["CLERK_PUBLISHABLE_KEY"]]


def _receiver_env(stripe_url, clerk_url, clerk, world, app_url) -> dict[str, str]:
    return {"STRIPE_SECRET_KEY": DEFAULT_LIVE_KEY, "STRIPE_API_BASE": stripe_url,
            "STRIPE_WEBHOOK_SECRET": world.webhook_secret, "STRIPE_PRICE_ID_PRO": world.prices["pro"],
            "STRIPE_PRICE_ID_ENTERPRISE": world.prices["enterprise"], "STRIPE_PORTAL_CONFIG_ID": world.portal_config,
            "CLERK_SECRET_KEY": CLERK_LIVE, "CLERK_PUBLISHABLE_KEY": clerk.publishable_key,
            "CLERK_API_URL": clerk_url, "CLERK_FRONTEND_URL": clerk_url, "FRONTEND_URL": app_url,
            "PORT": app_url.rsplit(":", 1)[1]}


@pytest.fixture
def live(tmp_path):
    from tiersync.receiver import Settings, create_app
    from tiersync.receiver.storage import Storage
    stripe = StripeSim({DEFAULT_TEST_KEY: "test", DEFAULT_LIVE_KEY: "live", READ_ONLY_LIVE: "live",
                        READ_ONLY_TEST: "test"})
    clerk = ClerkSim(secret_key=CLERK_LIVE)
    servers = []
    try:
        stripe_server = ThreadedServer(stripe, port=0).start()
        servers.append(stripe_server)
        stripe.public_url = stripe_server.url
        clerk_server = clerk.serve(port=0).start()
        servers.append(clerk_server)
        app_server = ThreadedServer(None, port=0)
        servers.append(app_server)
        app_url = app_server.url
        world = seed_world(stripe, f"{app_url}/webhook/stripe", mode="live", app_url=app_url)
        clerk.create_jwt_template(TEMPLATE, PLAN_CLAIMS)
        receiver_env = _receiver_env(stripe_server.url, clerk_server.url, clerk, world, app_url)
        settings = dataclasses.replace(Settings.from_env(receiver_env), database=":memory:")
        app_server.app = create_app(settings, storage=Storage(":memory:"))
        app_server.rebuild()
        app_server.start()
        env = {k: v for k, v in receiver_env.items() if k not in ("STRIPE_API_BASE", "CLERK_API_URL",
                                                                    "CLERK_FRONTEND_URL", "PORT")}
        env["CLERK_JWT_TEMPLATE"] = TEMPLATE
        yield LiveWorld(stripe, clerk, stripe_server.url, clerk_server.url, app_url, world, env, tmp_path)
    finally:
        for server in reversed(servers):
            try:
                server.stop()
            except Exception:
                pass
        stripe.webhooks.close()
        clerk.close()


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def preflight(capsys, live: LiveWorld, *extra, env: dict | None = None, key: str = READ_ONLY_LIVE):
    argv = ["preflight", "--url", live.app_url, "--env-file", live.write_env(env), "--stripe-key", key,
            "--stripe-api-base", live.stripe_url, "--clerk-api-url", live.clerk_url, *extra]
    return run_cli(capsys, *argv)


def sdk(live: LiveWorld, mode: str = "live"):
    """The Dashboard user's hands: the official SDK with the account's full secret key."""
    import stripe
    key = live.stripe.live_key if mode == "live" else live.stripe.test_key
    return stripe.StripeClient(key, base_addresses={"api": live.stripe_url}).v1
