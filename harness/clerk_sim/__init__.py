"""Clerk simulator: Backend API, session tokens, hosted pages and Svix webhooks.

See ``sim.ClerkSim`` for the entry point, ``pages`` for the hosted-page redirect contract.
"""

from .errors import ClerkAPIError
from .faults import FaultRule, RequestRecord
from .server import ClerkSimServer
from .sim import DEFAULT_SECRET_KEY, ClerkSim
from .tokens import SigningKey, TokenRejected

__all__ = [
    "DEFAULT_SECRET_KEY",
    "ClerkAPIError",
    "ClerkSim",
    "ClerkSimServer",
    "FaultRule",
    "RequestRecord",
    "SigningKey",
    "TokenRejected",
]
