"""Hosted sign-up / sign-in pages and the small Frontend-API surface an app page needs.

Redirect contract (the app runs on another origin, e.g. another 127.0.0.1 port):

1. The app sends the browser to ``{sim}/sign-up?redirect_url=<app url>`` (or ``/sign-in``).
   Sign-up: ``input[name=emailAddress]``, ``input[name=password]``, button "Continue", then
   ``/sign-up/verify-email-address`` (heading "Verify your email", ``input[name=code]``,
   6 digits; ``+clerk_test`` addresses use ``424242``, other addresses get a code in
   ``ClerkSim.outbox``). Sign-in: ``input[name=identifier]``, ``input[name=password]``.
2. On success the simulator creates the session, sets its own ``__client`` cookie (HttpOnly)
   and answers ``303`` to ``<redirect_url>?__clerk_handoff=<code>``. The code is single-use
   and valid for 60 s. The redirect URL's origin becomes an allowed CORS origin.
3. The app exchanges the code, from its page JS or from its server, with
   ``POST {sim}/v1/client/handoff`` ``{"code": "..."}`` and gets
   ``{"object": "client_session", "session_id", "user_id", "jwt", "refresh_token"}``,
   then stores ``jwt`` as its own ``__session`` cookie. ``refresh_token`` works with the
   Backend API's ``POST /v1/sessions/{id}/refresh``.
4. ``getToken()``: ``POST {sim}/v1/client/sessions/{sid}/tokens[/{template}]`` with
   ``Authorization: Bearer <the last session token, expired or not>`` (or the ``__client``
   cookie, ``credentials: "include"``) answers ``{"object": "token", "jwt": ...}`` with claims
   rendered now, so a refresh picks up new metadata. CORS allows the app's origin.

``{sim}/clerk.js`` does steps 3-4 in a page: ``await Clerk.load()`` redeems the handoff
code, sets ``__session`` and exposes ``Clerk.session.getToken({template, skipCache})``.
Like Clerk's SDK it caches the default token until 10 s before expiry, so a page that
does not pass ``skipCache: true`` keeps stale claims: the same gotcha as the real thing.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import errors
from .interface import SimInterface
from .models.params import origin_of
from .routes import clerk_endpoint, json_body

HANDOFF_PARAM = "__clerk_handoff"
CLIENT_COOKIE = "__client"

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f7f7f8;display:flex;justify-content:center;padding:48px}
.cl-card{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:32px;width:360px}
label{display:block;margin:12px 0 4px;font-size:14px}
input{width:100%;padding:8px;box-sizing:border-box;font-size:15px}
button{margin-top:20px;width:100%;padding:10px;background:#6c47ff;color:#fff;border:0;border-radius:6px;font-size:15px}
.cl-formFieldErrorText{color:#c00;font-size:14px}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main class=cl-card>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status)


def _error_html(exc: errors.ClerkAPIError | None) -> str:
    if exc is None:
        return ""
    return (
        f'<p class="cl-formFieldErrorText" role="alert" data-error-code="{html.escape(exc.code)}">'
        f"{html.escape(exc.errors[0].long_message)}</p>"
    )


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: starlette's request.form() needs python-multipart for nothing more.
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    query[name] = [value]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def _qs(**params: str | None) -> str:
    clean = {k: v for k, v in params.items() if v}
    return ("?" + urlencode(clean)) if clean else ""


def page_routes(sim: SimInterface) -> list[Route]:
    backend = sim.backend

    def redirect_target(request: Request, form: dict[str, str] | None = None) -> str | None:
        value = (form or {}).get("redirect_url") or request.query_params.get("redirect_url")
        if value and origin_of(value) is None:
            raise errors.param_format_invalid("redirect_url", "redirect_url must be an absolute http(s) URL.")
        return value or None

    def finish_sign_in(request: Request, user_id: str, redirect_url: str | None) -> Response:
        """Create the session, set __client, and hand the session to the app."""
        client_id = backend.client_for_cookie(request.cookies.get(CLIENT_COOKIE))
        app_origin = origin_of(redirect_url)
        session = backend.create_session(user_id, origin=app_origin, client_id=client_id)
        if client_id is None:
            cookie_value = backend.new_client_cookie(session["client_id"])
        else:
            cookie_value = request.cookies[CLIENT_COOKIE]
        if app_origin:
            sim.allow_origin(app_origin)
        code = backend.create_handoff(session["id"])
        target = _with_param(redirect_url or f"{sim.base_url}/", HANDOFF_PARAM, code)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(CLIENT_COOKIE, cookie_value, path="/", httponly=True, samesite="lax")
        return response

    # -- sign-up ------------------------------------------------------------------------------

    def sign_up_form(redirect_url: str | None, email: str = "", error: errors.ClerkAPIError | None = None) -> Response:
        body = (
            "<h1>Create your account</h1>"
            "<p>Welcome! Please fill in the details to get started.</p>"
            f"{_error_html(error)}"
            f'<form method="post" action="/sign-up{_qs(redirect_url=redirect_url)}">'
            '<label for="emailAddress-field">Email address</label>'
            f'<input id="emailAddress-field" name="emailAddress" type="email" autocomplete="email" value="{html.escape(email)}">'
            '<label for="password-field">Password</label>'
            '<input id="password-field" name="password" type="password" autocomplete="new-password">'
            '<button type="submit">Continue</button></form>'
            f'<p>Already have an account? <a href="/sign-in{_qs(redirect_url=redirect_url)}">Sign in</a></p>'
        )
        return _page("Sign up", body, status=error.status if error else 200)

    @clerk_endpoint
    async def get_sign_up(request: Request) -> Response:
        return sign_up_form(redirect_target(request))

    @clerk_endpoint
    async def post_sign_up(request: Request) -> Response:
        form = await _form(request)
        redirect_url = redirect_target(request, form)
        email = form.get("emailAddress", "")
        try:
            sign_up = backend.start_sign_up(email, form.get("password", ""), redirect_url)
        except errors.ClerkAPIError as exc:
            return sign_up_form(redirect_url, email, exc)
        return RedirectResponse(f"/sign-up/verify-email-address?sign_up_id={sign_up.id}", status_code=303)

    def verify_form(sign_up_id: str, email: str, error: errors.ClerkAPIError | None = None) -> Response:
        body = (
            "<h1>Verify your email</h1>"
            f"<p>Enter the verification code sent to <strong>{html.escape(email)}</strong></p>"
            f"{_error_html(error)}"
            f'<form method="post" action="/sign-up/verify-email-address{_qs(sign_up_id=sign_up_id)}">'
            '<label for="code-field">Verification code</label>'
            '<input id="code-field" name="code" inputmode="numeric" autocomplete="one-time-code" '
            'maxlength="6" pattern="[0-9]{6}">'
            '<button type="submit">Continue</button></form>'
        )
        return _page("Verify your email", body, status=error.status if error else 200)

    @clerk_endpoint
    async def get_verify(request: Request) -> Response:
        sign_up = backend.pending_sign_up(request.query_params.get("sign_up_id", ""))
        return verify_form(sign_up.id, sign_up.email)

    @clerk_endpoint
    async def post_verify(request: Request) -> Response:
        form = await _form(request)
        sign_up = backend.pending_sign_up(request.query_params.get("sign_up_id") or form.get("sign_up_id", ""))
        try:
            user = backend.verify_sign_up(sign_up.id, form.get("code", ""))
        except errors.ClerkAPIError as exc:
            if exc.code != "form_code_incorrect":
                raise
            return verify_form(sign_up.id, sign_up.email, exc)
        return finish_sign_in(request, user["id"], sign_up.redirect_url)

    # -- sign-in ------------------------------------------------------------------------------

    def sign_in_form(redirect_url: str | None, identifier: str = "", error: errors.ClerkAPIError | None = None) -> Response:
        body = (
            "<h1>Sign in</h1>"
            "<p>Welcome back! Please sign in to continue.</p>"
            f"{_error_html(error)}"
            f'<form method="post" action="/sign-in{_qs(redirect_url=redirect_url)}">'
            '<label for="identifier-field">Email address</label>'
            f'<input id="identifier-field" name="identifier" type="text" autocomplete="username" value="{html.escape(identifier)}">'
            '<label for="password-field">Password</label>'
            '<input id="password-field" name="password" type="password" autocomplete="current-password">'
            '<button type="submit">Continue</button></form>'
            f'<p>Don\'t have an account? <a href="/sign-up{_qs(redirect_url=redirect_url)}">Sign up</a></p>'
        )
        return _page("Sign in", body, status=error.status if error else 200)

    @clerk_endpoint
    async def get_sign_in(request: Request) -> Response:
        return sign_in_form(redirect_target(request))

    @clerk_endpoint
    async def post_sign_in(request: Request) -> Response:
        form = await _form(request)
        redirect_url = redirect_target(request, form)
        identifier = form.get("identifier", "")
        try:
            user = backend.sign_in_with_password(identifier, form.get("password", ""))
        except errors.ClerkAPIError as exc:
            return sign_in_form(redirect_url, identifier, exc)
        return finish_sign_in(request, user["id"], redirect_url)

    @clerk_endpoint
    async def home(request: Request) -> Response:
        signed_in = HANDOFF_PARAM in request.query_params
        body = "<h1>Clerk simulator</h1>" + (
            "<p>You are signed in.</p>" if signed_in else '<p><a href="/sign-in">Sign in</a> · <a href="/sign-up">Sign up</a></p>'
        )
        return _page("Clerk simulator", body)

    # -- Frontend-API surface for app pages ---------------------------------------------------

    def cors_headers(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if not origin or not sim.origin_allowed(origin):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": "authorization, content-type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }

    def with_cors(request: Request, response: Response) -> Response:
        response.headers.update(cors_headers(request))
        return response

    async def preflight(request: Request) -> Response:
        return Response(status_code=204, headers=cors_headers(request))

    @clerk_endpoint
    async def redeem_handoff(request: Request) -> Response:
        try:
            body = await json_body(request, required=True)
            session = backend.redeem_handoff(str(body.get("code") or ""))
            jwt = backend.mint_session_token(session.id)
        except errors.ClerkAPIError as exc:
            return with_cors(request, JSONResponse(exc.body(), status_code=exc.status))
        data = {
            "object": "client_session",
            "session_id": session.id,
            "user_id": session.user_id,
            "jwt": jwt,
            "refresh_token": session.refresh_token,
        }
        return with_cors(request, JSONResponse(data))

    @clerk_endpoint
    async def client_token(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        try:
            session = backend.authorize_client_session(
                request.path_params["session_id"],
                bearer_token=bearer,
                client_cookie=request.cookies.get(CLIENT_COOKIE),
            )
            jwt = backend.mint_session_token(
                session.id,
                template_name=request.path_params.get("template_name"),
                origin=origin_of(request.headers.get("origin")),
            )
        except errors.ClerkAPIError as exc:
            return with_cors(request, JSONResponse(exc.body(), status_code=exc.status))
        return with_cors(request, JSONResponse({"object": "token", "jwt": jwt}))

    async def clerk_js(request: Request) -> Response:
        return Response(CLERK_JS, media_type="text/javascript")

    return [
        Route("/", home, methods=["GET"]),
        Route("/sign-up", get_sign_up, methods=["GET"]),
        Route("/sign-up", post_sign_up, methods=["POST"]),
        Route("/sign-up/verify-email-address", get_verify, methods=["GET"]),
        Route("/sign-up/verify-email-address", post_verify, methods=["POST"]),
        Route("/sign-in", get_sign_in, methods=["GET"]),
        Route("/sign-in", post_sign_in, methods=["POST"]),
        Route("/clerk.js", clerk_js, methods=["GET"]),
        Route("/v1/client/handoff", redeem_handoff, methods=["POST"]),
        Route("/v1/client/handoff", preflight, methods=["OPTIONS"]),
        Route("/v1/client/sessions/{session_id}/tokens", client_token, methods=["POST"]),
        Route("/v1/client/sessions/{session_id}/tokens/{template_name}", client_token, methods=["POST"]),
        Route("/v1/client/sessions/{session_id}/tokens", preflight, methods=["OPTIONS"]),
        Route("/v1/client/sessions/{session_id}/tokens/{template_name}", preflight, methods=["OPTIONS"]),
    ]


# Served at /clerk.js. Plain ES2017, no build step.
CLERK_JS = r"""
(function () {
  "use strict";
  var script = document.currentScript;
  var FAPI = new URL(script && script.src ? script.src : "/clerk.js", location.href).origin;
  var STORE = "__tiersync_clerk";
  var HANDOFF = "__clerk_handoff";

  function load() { try { return JSON.parse(localStorage.getItem(STORE)); } catch (e) { return null; } }
  function save(state) { localStorage.setItem(STORE, JSON.stringify(state)); }
  function setSessionCookie(jwt) { document.cookie = "__session=" + jwt + "; path=/; SameSite=Lax"; }
  function expiresAt(jwt) {
    var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4))).exp;
  }

  async function post(path, body, bearer) {
    var headers = { "content-type": "application/json" };
    if (bearer) headers.authorization = "Bearer " + bearer;
    var res = await fetch(FAPI + path, {
      method: "POST", credentials: "include", headers: headers, body: JSON.stringify(body || {})
    });
    var json = await res.json();
    if (!res.ok) {
      var err = new Error((json.errors && json.errors[0] && json.errors[0].long_message) || res.statusText);
      err.status = res.status; err.errors = json.errors;
      throw err;
    }
    return json;
  }

  async function redeemHandoff() {
    var url = new URL(location.href);
    var code = url.searchParams.get(HANDOFF);
    if (!code) return load();
    var res = await post("/v1/client/handoff", { code: code });
    var state = { sessionId: res.session_id, userId: res.user_id, token: res.jwt };
    save(state);
    setSessionCookie(res.jwt);
    url.searchParams.delete(HANDOFF);
    if (history && history.replaceState) history.replaceState(null, "", url.toString());
    return state;
  }

  async function getToken(options) {
    options = options || {};
    var state = load();
    if (!state) return null;
    var now = Date.now() / 1000;
    if (!options.template && !options.skipCache && state.token && expiresAt(state.token) - now > 10) {
      return state.token;
    }
    var path = "/v1/client/sessions/" + encodeURIComponent(state.sessionId) + "/tokens" +
      (options.template ? "/" + encodeURIComponent(options.template) : "");
    var res = await post(path, {}, state.token);
    if (!options.template) { state.token = res.jwt; save(state); setSessionCookie(res.jwt); }
    return res.jwt;
  }

  var Clerk = {
    loaded: false, session: null, user: null, frontendApi: FAPI,
    load: async function () {
      var state = await redeemHandoff();
      Clerk.session = state ? { id: state.sessionId, getToken: getToken } : null;
      Clerk.user = state ? { id: state.userId } : null;
      Clerk.loaded = true;
      return Clerk;
    },
    signOut: async function () {
      localStorage.removeItem(STORE);
      document.cookie = "__session=; path=/; max-age=0";
      Clerk.session = null; Clerk.user = null;
    },
    redirectToSignIn: function (opts) {
      location.href = FAPI + "/sign-in?redirect_url=" + encodeURIComponent((opts && opts.redirectUrl) || location.href);
    },
    redirectToSignUp: function (opts) {
      location.href = FAPI + "/sign-up?redirect_url=" + encodeURIComponent((opts && opts.redirectUrl) || location.href);
    }
  };
  window.Clerk = Clerk;
})();
"""
