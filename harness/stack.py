"""The whole world on loopback: the Stripe simulator, the Clerk simulator, a seeded Stripe account (a
product per paid tier of the app profile with its `metadata.plan`, monthly prices, the portal activated, a
one-time 100%-off promotion code, a webhook endpoint for the receiver), the profile's JWT templates in Clerk
and, optionally, the reference receiver (whose own profile is the default: free / pro / enterprise).
`tiersync serve`, the demo, the tests and the scenario engine all stand on this."""

from __future__ import annotations

import dataclasses
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .clerk_sim import ClerkSim
from .profile import Profile
from .profile_load import reference_profile
from .server import ThreadedServer
from .stripe_sim import StripeSim

RECEIVER_EVENTS = ["checkout.session.completed", "customer.subscription.created",
                   "customer.subscription.updated", "customer.subscription.deleted"]
PROMO_CODE = "LAUNCH100"


@dataclass
class World:
    """What the seeding created (test mode), by name."""
    products: dict[str, str] = field(default_factory=dict)  # paid tier -> product id
    prices: dict[str, str] = field(default_factory=dict)  # paid tier -> monthly price id
    plans: dict[str, str] = field(default_factory=dict)  # paid tier -> the product's metadata.plan
    portal_config: str | None = None
    coupon: str | None = None
    promotion_code: str | None = None
    promotion_code_id: str | None = None
    webhook_endpoint: str | None = None
    webhook_secret: str | None = None


def seed_world(stripe_sim: StripeSim, webhook_url: str | None, *, mode: str = "test",
               app_url: str = "http://127.0.0.1:8787", profile: Profile | None = None) -> World:
    """Create the account's billing objects through the simulator's own API, in process (`StripeSim.request`:
    the calls an app's setup script makes, validated the same way): a product and a monthly price for each
    paid tier of `profile` (default: the reference receiver's), the portal, the promotion code, the endpoint."""
    profile = profile or reference_profile()
    world = World()

    def call(path: str, params: dict) -> dict:
        return stripe_sim.request("POST", path, params, mode=mode)

    for tier, amount in profile.tier_amounts().items():
        plan = profile.tier(tier).plan_value
        prod = call("/v1/products", {"name": f"{tier.capitalize()} Plan", "metadata": {"plan": plan}})
        price = call("/v1/prices", {"product": prod["id"], "unit_amount": amount, "currency": "usd",
                                    "recurring": {"interval": "month"}, "lookup_key": f"{tier}_monthly"})
        world.products[tier], world.prices[tier], world.plans[tier] = prod["id"], price["id"], plan
    # the Dashboard's "Activate" of the Customer portal (its default features: cancel at period end, payment
    # method update, invoice history)
    conf = call("/_sim/billing_portal/activate", {"mode": mode, "default_return_url": app_url + "/"})
    world.portal_config = conf["id"]
    coupon = call("/v1/coupons", {"percent_off": 100, "duration": "once", "name": "Launch test"})
    promo = call("/v1/promotion_codes", {"promotion": {"type": "coupon", "coupon": coupon["id"]},
                                         "code": PROMO_CODE, "max_redemptions": 1})
    world.coupon, world.promotion_code, world.promotion_code_id = coupon["id"], promo["code"], promo["id"]
    if webhook_url:
        we = call("/v1/webhook_endpoints", {"url": webhook_url, "enabled_events": RECEIVER_EVENTS,
                                            "description": profile.name})
        world.webhook_endpoint, world.webhook_secret = we["id"], we["secret"]
    return world


def seed_clerk(clerk_sim: ClerkSim, profile: Profile):
    """The JWT templates the app's tokens are minted with, as the profile declares them (made, or put back
    as declared when a scenario changed one)."""
    for template in profile.auth.jwt_templates:
        clerk_sim.put_jwt_template(template.name, template.claims, lifetime=template.lifetime)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _CurrentReceiver:
    """ASGI: forward to the stack's receiver app of the moment (each reset builds a new one)."""

    def __init__(self, stack: Stack):
        self.stack = stack

    async def __call__(self, scope, receive, send):
        await self.stack.receiver_app(scope, receive, send)


class Stack:
    def __init__(self, *, host: str = "127.0.0.1", stripe_port: int = 0, clerk_port: int = 0,
                 receiver_port: int | None = 0, database: str = ":memory:", seed: int | None = None,
                 stripe_keys: dict[str, str] | None = None, accept_any_key: bool = False,
                 receiver_factory=None, profile: Profile | None = None):
        """`receiver_factory(settings, storage) -> ASGI app` serves another receiver in place of the reference
        one (the mutation tests' broken receivers); the reference one is built by the same path
        (`reference_receiver`, i.e. `create_app`), again on every reset: a fresh app per world.
        `profile`: the app the world is seeded for (tiers, JWT templates, env names); default the reference
        receiver's. The bundled reference receiver is only served with its own profile."""
        self.host = host
        self.profile = profile or reference_profile()
        self.stripe_sim = StripeSim(stripe_keys, accept_any_key=accept_any_key, seed=seed)
        self.clerk_sim = ClerkSim()
        self._ports = (stripe_port, clerk_port, receiver_port)
        self.database = database
        self.receiver_factory = receiver_factory or self._reference_receiver
        self._clerk_gateway = None  # the reference receiver's Clerk client, kept across resets
        # the receiver's ADMIN_TOKEN (its /admin/sync-errors is closed without one); the engine sends it
        self.admin_token = "adm_" + secrets.token_urlsafe(18)
        self.world: World | None = None
        self.settings = None
        self.receiver_app = None
        self._storage = None  # the receiver's store, made by the stack (closed when a reset replaces it)
        self._servers: list = []

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Stack:
        stripe_port, clerk_port, receiver_port = self._ports
        try:
            self.stripe_server = ThreadedServer(self.stripe_sim, host=self.host, port=stripe_port).start()
            self._servers.append(self.stripe_server)
            self.stripe_sim.public_url = self.stripe_server.url
            self.clerk_server = self.clerk_sim.serve(host=self.host, port=clerk_port).start()
            self._servers.append(self.clerk_server)
            self.receiver_server = None
            if receiver_port is not None:
                self.receiver_server = ThreadedServer(None, host=self.host, port=receiver_port)
                self._servers.append(self.receiver_server)
                receiver_url = self.receiver_server.url
            else:
                receiver_url = None
            self._seed(receiver_url)
            if receiver_url:
                self._start_receiver(receiver_url)
        except BaseException:
            self.stop()
            raise
        return self

    def _seed(self, app_url: str | None, webhook_url: str | None = None):
        """Seed the world for the app at `app_url` (its webhook at the profile's path unless given)."""
        self.clerk_sim.allow_origin(app_url or f"http://{self.host}")
        if webhook_url is None and app_url:
            webhook_url = app_url + self.profile.webhook.path
        self.world = seed_world(self.stripe_sim, webhook_url, app_url=app_url or "http://127.0.0.1:8787",
                                profile=self.profile)
        self.stripe_sim.save_world()  # what restore_world (and POST /_sim/world/restore) puts back
        seed_clerk(self.clerk_sim, self.profile)

    def seed_for_app(self, app_url: str, webhook_url: str | None = None):
        """Forget everything and seed the world for an app the stack does not serve (a command, a Worker)."""
        self.stripe_sim.reset()
        self.clerk_sim.reset()
        self._seed(app_url, webhook_url)

    def _start_receiver(self, receiver_url: str):
        if self.profile.tier_names != reference_profile().tier_names:
            raise ValueError(f"the bundled reference receiver has its own tiers; a stack for the profile "
                             f"{self.profile.name!r} serves no receiver (receiver_port=None)")
        self._build_receiver(receiver_url)
        self.receiver_server.app = _CurrentReceiver(self)  # the server outlives each reset's app
        self.receiver_server.rebuild()
        self.receiver_server.start()

    def _build_receiver(self, receiver_url: str, *, empty: bool = False):
        """A new receiver app for the world just seeded: its settings from the environment the stack gives
        it, its store (`empty`: the database file, if any, emptied first)."""
        from tiersync.receiver import Settings
        from tiersync.receiver.storage import Storage
        self.settings = dataclasses.replace(Settings.from_env(self.receiver_env(receiver_url)),
                                            database=self.database)
        if self._storage is not None:
            self._storage.close()
            self._storage = None
        if empty and self.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(self.database + suffix).unlink(missing_ok=True)
        self._storage = Storage(self.database)
        self.receiver_app = self.receiver_factory(self.settings, self._storage)

    def _reference_receiver(self, settings, storage):
        """The bundled reference receiver, built as anyone builds it (`create_app`), given the Clerk client
        of the previous world: Clerk's keys and URL stay the same across resets, and making the SDK's client
        loads the CA bundle twice (~0.2 s, most of a reset)."""
        from tiersync.receiver import create_app
        from tiersync.receiver.clerk import ClerkGateway
        if self._clerk_gateway is None:
            self._clerk_gateway = ClerkGateway(settings.clerk_secret_key, settings.clerk_api_url,
                                               settings.request_timeout,
                                               authorized_parties=list(settings.authorized_parties) or None)
        return create_app(settings, storage=storage, clerk=self._clerk_gateway)

    def stop(self):
        for server in reversed(self._servers):
            try:
                server.stop()
            except Exception:  # stopping must go on for the others
                pass
        self._servers.clear()
        self.stripe_sim.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self):
        """Forget everything, then seed the same world again (new ids, same names) and build a new receiver."""
        self.stripe_sim.reset()
        self.clerk_sim.reset()
        receiver_url = self.receiver_server.url if self.receiver_server else None
        self._seed(receiver_url)
        if self.receiver_app is not None:
            self._build_receiver(receiver_url, empty=True)

    def restore_world(self):
        """Undo what scenarios change in a shared world, keeping every id and secret (for a receiver the
        engine cannot reset: one launched by command, or one a user runs against `tiersync serve`): the
        Stripe world as seeded (plan metadata, endpoints and their secrets, an unused LAUNCH100, the clock;
        pending deliveries and faults dropped), Clerk faults cleared and the profile's JWT templates."""
        if self.world is None:
            return
        self.stripe_sim.restore_world()
        self.clerk_sim.clear_faults()
        seed_clerk(self.clerk_sim, self.profile)

    # ---- what others need to connect --------------------------------------------------------------
    def receiver_env(self, receiver_url: str | None = None, port: int | None = None) -> dict[str, str]:
        """The environment for the app on this stack, under the names its profile says it reads (the seed's
        names for the reference receiver): keys, simulator URLs, the webhook secret, each paid tier's price id."""
        receiver_url = receiver_url or (self.receiver_server.url if self.receiver_server else
                                        f"http://{self.host}:{port or 8787}")
        names = self.profile.env
        settings = {
            names.stripe_secret_key: self.stripe_sim.test_key, names.stripe_api_base: self.stripe_server.url,
            names.stripe_webhook_secret: self.world.webhook_secret or "",
            names.stripe_portal_config: self.world.portal_config,
            names.clerk_secret_key: self.clerk_sim.secret_key,
            names.clerk_publishable_key: self.clerk_sim.publishable_key,
            names.clerk_api_url: self.clerk_server.url, names.clerk_frontend_url: self.clerk_server.url,
            names.clerk_jwt_key: self.clerk_sim.jwt_public_key_pem, names.frontend_url: receiver_url,
            names.port: str(port or receiver_url.rsplit(":", 1)[1].split("/")[0]),
            **{tier.price_env: self.world.prices[tier.name] for tier in self.profile.paid_tiers},
            **names.values,
            # the reference receiver's /admin/sync-errors is closed without it; the engine sends it
            **({"ADMIN_TOKEN": self.admin_token} if self.profile.name == reference_profile().name else {}),
        }
        return {name: value for name, value in settings.items() if name}  # "": the app does not read it

    app_env = receiver_env

    def info(self) -> dict:
        world = dataclasses.asdict(self.world) if self.world else {}
        out = {
            "stripe": {"url": self.stripe_server.url, "api_base": self.stripe_server.url,
                       "test_key": self.stripe_sim.test_key, "live_key": self.stripe_sim.live_key,
                       "world": world},
            "clerk": self.clerk_sim.info(),
        }
        if not self.receiver_server:  # for the user's app: its settings under its own names
            # no endpoint yet (the run points one at the app with its secret), and the app's URL is its own
            unknown = {self.profile.env.frontend_url, self.profile.env.port}
            env = {k: v for k, v in self.app_env().items() if v and k not in unknown}
            out["app"] = {"profile": self.profile.name, "env": env}
        if self.receiver_server:
            out["receiver"] = {"url": self.receiver_server.url,
                               "webhook_url": f"{self.receiver_server.url}/webhook/stripe",
                               "env": self.receiver_env()}
        return out
