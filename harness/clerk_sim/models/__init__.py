"""The simulator's state and operations: users, sessions, JWT templates, sign-up/sign-in.

Plain Python, no HTTP: the routes in ``routes.py`` and ``pages.py`` and the ``ClerkSim``
helpers all call these methods. Every method returns Clerk's API JSON shapes (dicts) or
raises ``errors.ClerkAPIError``. One re-entrant lock guards the state because the server
thread and the test thread both call in.

``ClerkBackend`` is one object over one state (``state.py``, the things it holds in
``entities.py``); its operations are written by area, each layer building on the ones below:
``users.py`` and ``templates.py``, then ``sessions.py`` (sessions and their tokens, which need
users and templates), then ``sign_in.py`` (the hosted pages' sign-up, sign-in and handoff).

Timestamps in API objects are Unix milliseconds, as Clerk sends them; JWT claims are seconds.
"""

from .sign_in import SignInBackend


class ClerkBackend(SignInBackend):
    """Every area's operations on one state (see the module docstring for the layers)."""


__all__ = ["ClerkBackend"]
