"""Run Stripe CLI fixture files (`stripe fixtures FILE`, `stripe trigger EVENT`) against any Stripe API.

The format (`pkg/fixtures` of the Stripe CLI, template version 0)::

    {"_meta": {"template_version": 0, "exclude_metadata": false, "aliases": [...]},
     "fixtures": [{"name": "customer", "path": "/v1/customers", "method": "post",
                   "params": {"description": "x", "items": [{"price": "${price:id}"}]},
                   "expected_error_type": "card_error", "idempotency_key": "...", "headers": {...}}],
     "env": {"MY_VAR": "${customer:id}"}}

References inside strings (params, path, idempotency key, headers, env values):
`${name:dot.path}` reads an earlier step's JSON response (`${sub:items.data.0.id}`; `#` is an array's
length, as in gjson), `${.env:VAR}` the environment, and `${...|default}` falls back to the default
when the value is missing. As in the CLI, `${time-now-RFC3339}` is the current time (RFC 3339, local time
with its offset) and `${generate-uuid}` a fresh random UUID. A step's `api_base` (Stripe's meter-events host
for the /v2 meter event stream) is followed when the run targets Stripe itself (`https://api.stripe.com`);
against any other base URL (the simulator serves both) the step goes to that base. Unlike the CLI (which silently sends the reference text when a lookup fails)
the runner stops with a `FixtureError` naming the file, the fixture and the field.

Steps run as the CLI's `Fixture.Execute` runs them (stripe-cli pkg/fixtures/fixtures.go): a step with
`expected_error_type` passes when it fails with that error type *or* succeeds (the CLI only forgives an
error of the expected type; it never demands one); any other error stops the run. A name may repeat:
each response replaces the earlier one under that name, so later references read the latest.

`run_fixture(file, request)` calls `request(method, path, params, headers=None) -> (status, json)` once
per step; `params` is the list of form pairs in Stripe's bracket encoding (`items[0][price]`,
`expand[]`); a /v2/ POST (JSON, as the CLI sends it) comes as `json_body=` with no pairs. Adapters: `sim_requester(sim)` (calls `StripeSim.handle` directly) and
`http_requester(base_url, api_key)` (real HTTP with httpx). `python -m tiersync.stripe_sim.fixtures FILE
--base-url URL --api-key KEY` runs a file and prints one line per step.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .form_encoding import Pairs, encode_params, form_scalar

SUPPORTED_TEMPLATE_VERSION = 0
# stripe-cli pkg/requests/stripe_version_header.go (generated), StripeVersionHeaderValue at c78e4ab (2026-10-06):
# the version the CLI sends on /v2/ requests only
CLI_V2_VERSION = "2026-08-26.dahlia"
METHODS = ("GET", "POST", "DELETE")
# `${name:path}` or `${name:path|default}`; the name has no `:`/`|`/`}`, the path no `|`/`}`.
REFERENCE = re.compile(r"\$\{([^:|}]+):([^|}]*)(?:\|([^}]*))?\}")
# the CLI's built-in values (pkg/fixtures: TestParseWithTimeNow, TestParseWithUUID)
BUILTINS = {"${time-now-RFC3339}": lambda: _rfc3339_now(), "${generate-uuid}": lambda: str(uuid.uuid4())}
STRIPE_API = "https://api.stripe.com"


def _rfc3339_now() -> str:
    now = datetime.now().astimezone().replace(microsecond=0)
    text = now.isoformat()
    return text[:-6] + "Z" if now.utcoffset() == timedelta(0) else text
_MISSING = object()

Requester = Callable[..., tuple[int, Any]]


class FixtureError(Exception):
    """A fixture file that cannot run: the message names the file, the fixture and the field."""

    def __init__(self, message: str, *, file: str | None = None, fixture: str | None = None,
                 field: str | None = None, status: int | None = None, response: Any = None):
        self.reason = message
        self.file = file
        self.fixture = fixture
        self.field = field
        self.status = status
        self.response = response
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.fixture:
            where.append(f"fixture {self.fixture!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{': '.join(where)}: {self.reason}" if where else self.reason


@dataclass
class Step:
    name: str
    method: str
    path: str
    status: int | None
    response: Any
    params: Pairs = field(default_factory=list)
    skipped: bool = False
    expected_error: bool = False


@dataclass
class FixtureResult:
    file: str
    steps: list[Step]
    env: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    @property
    def responses(self) -> dict[str, Any]:
        return {s.name: s.response for s in self.steps if not s.skipped}

    def __getitem__(self, name: str) -> Any:
        for s in self.steps:
            if s.name == name and not s.skipped:
                return s.response
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(s.name == name and not s.skipped for s in self.steps)


# ---- references ---------------------------------------------------------------------------------------

def lookup_path(doc: Any, path: str) -> Any:
    """Follow a gjson-style dot path (`items.data.0.id`, `data.#`) through JSON; `_MISSING` if absent."""
    if path == "":
        return doc
    node = doc
    for part in re.split(r"(?<!\\)\.", path):
        part = part.replace("\\.", ".")
        if isinstance(node, Mapping):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            if part == "#":
                node = len(node)
            elif part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return _MISSING
        else:
            return _MISSING
    return node


def _as_text(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, separators=(",", ":"))
    return form_scalar(value)


class Resolver:
    """Replaces `${...}` references in a string using earlier responses and the environment."""

    def __init__(self, responses: Mapping[str, Any], env: Mapping[str, str]):
        self.responses = responses
        self.env = env
        # in a step that may fail (`expected_error_type`) a reference that cannot be resolved is sent as
        # written, as the CLI sends it, and the API's answer decides
        self.lenient = False

    def resolve(self, text: str) -> str:
        def one(m: re.Match) -> str:
            try:
                return strict(m)
            except _RefError:
                if self.lenient:
                    return m.group(0)
                raise

        def strict(m: re.Match) -> str:
            name, path, default = m.group(1).strip(), m.group(2).strip(), m.group(3)
            if name == ".env":
                value = self.env.get(path)
                if value:
                    return value
                if default is not None:
                    return default
                raise _RefError(f"environment variable {path} is not set (in {m.group(0)}); set it or "
                                f"give a default: ${{.env:{path}|value}}")
            if name not in self.responses:
                known = ", ".join(sorted(self.responses)) or "none yet"
                hint = _similar(name, self.responses)
                raise _RefError(f"{m.group(0)} refers to an undeclared fixture name {name!r} (fixtures run so "
                                f"far: {known}){hint}")
            value = lookup_path(self.responses[name], path)
            if value is _MISSING or value is None or value == "":
                if default is not None:
                    return default
                why = "is null" if value is None else "was not found"
                raise _RefError(f"{m.group(0)}: {path!r} {why} in the response of fixture {name!r}")
            return _as_text(value)

        for token, make in BUILTINS.items():
            while token in text:
                text = text.replace(token, make(), 1)  # each occurrence its own value
        return REFERENCE.sub(one, text)

    def resolve_tree(self, value: Any, where: str) -> Any:
        """Resolve every string in params; errors name the bracketed field."""
        if isinstance(value, str):
            try:
                return self.resolve(value)
            except _RefError as exc:
                exc.field = where
                raise
        if isinstance(value, Mapping):
            return {k: self.resolve_tree(v, f"{where}[{k}]" if where else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_tree(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value


class _RefError(Exception):
    field: str | None = None


def _similar(name: str, names: Iterable[str]) -> str:
    def norm(s):
        return s.lower().replace("_", "").replace("-", "")
    names = [n for n in names if n != name]
    close = [n for n in names if norm(name) in norm(n) or norm(n) in norm(name)]
    close += [n for n in difflib.get_close_matches(name, names, n=3, cutoff=0.75) if n not in close]
    return f"; perhaps you meant: {', '.join(close)}" if close else ""


# ---- loading ------------------------------------------------------------------------------------------

def load_fixture(source: str | os.PathLike | Mapping) -> tuple[dict, str]:
    """(parsed fixture file, display name). Bad JSON or shape raise `FixtureError`."""
    if isinstance(source, Mapping):
        data, label = dict(source), "<fixture>"
    else:
        label = str(source)
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise FixtureError(f"cannot read the fixture file: {exc.strerror or exc}", file=label) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FixtureError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                               file=label) from None
    if not isinstance(data, dict):
        raise FixtureError("a fixture file is a JSON object with a \"fixtures\" list", file=label)
    meta = data.get("_meta") or {}
    if not isinstance(meta, dict):
        raise FixtureError("\"_meta\" must be an object", file=label, field="_meta")
    version = meta.get("template_version", 0)
    if not isinstance(version, int) or version > SUPPORTED_TEMPLATE_VERSION:
        raise FixtureError(f"fixture template_version {version!r} is not supported (this runner reads version "
                           f"{SUPPORTED_TEMPLATE_VERSION})", file=label, field="_meta.template_version")
    steps = data.get("fixtures")
    if not isinstance(steps, list):
        raise FixtureError("missing the \"fixtures\" list", file=label, field="fixtures")
    for i, step in enumerate(steps):
        where = f"fixtures[{i}]"
        if not isinstance(step, dict):
            raise FixtureError("each fixture is an object", file=label, field=where)
        name = step.get("name")
        for key in ("name", "path", "method"):
            if not isinstance(step.get(key), str) or not step.get(key):
                raise FixtureError(f"missing required key {key!r}", file=label, fixture=name or where,
                                   field=key)
        if str(step["method"]).upper() not in METHODS:
            raise FixtureError(f"unsupported method {step['method']!r} (use get, post or delete)", file=label,
                               fixture=name, field="method")
        if step.get("params") is not None and not isinstance(step["params"], dict):
            raise FixtureError("\"params\" must be an object", file=label, fixture=name, field="params")
    return data, label


# ---- running ------------------------------------------------------------------------------------------

def run_fixture(source: str | os.PathLike | Mapping, request: Requester, *, env: Mapping[str, str] | None = None,
                skip: Iterable[str] = (), add_fixture_metadata: bool = False,
                stripe_version: str | None = None) -> FixtureResult:
    """Run every step of a fixture file in order; returns the steps, or raises `FixtureError`.

    `env` replaces `os.environ` for `${.env:...}`. `skip` names steps not to run (the CLI's `--skip`).
    `add_fixture_metadata` restores the older CLI behaviour of tagging every POST with
    `metadata[_created_by_fixture]` unless the file sets `_meta.exclude_metadata`. `stripe_version` is the
    CLI's `stripe trigger --api-version`: sent on every step; without it /v1/ steps send no `Stripe-Version`, so
    the account's default version answers ("By default, requests made with the Stripe CLI use your account's
    default API version", docs.stripe.com/api/versioning).
    """
    data, label = load_fixture(source)
    meta = data.get("_meta") or {}
    env = os.environ if env is None else env
    skip = set(skip)
    responses: dict[str, Any] = {}
    resolver = Resolver(responses, env)
    steps: list[Step] = []
    for spec in data["fixtures"]:
        name = spec["name"]
        method = spec["method"].upper()

        def fail(message, field=None, *, status=None, response=None, name=name):
            return FixtureError(message, file=label, fixture=name, field=field, status=status, response=response)

        if name in skip:
            steps.append(Step(name, method, spec["path"], None, None, skipped=True))
            continue
        expected = spec.get("expected_error_type")
        resolver.lenient = bool(expected)
        try:
            path = resolver.resolve(spec["path"])
        except _RefError as exc:
            raise fail(str(exc), "path") from None
        if not re.match(r"^/v[12]/", path):
            raise fail(f"{path!r} is not a Stripe API path (must start with /v1/ or /v2/)", "path")
        try:
            params = resolver.resolve_tree(spec.get("params") or {}, "")
        except _RefError as exc:
            raise fail(str(exc), f"params.{exc.field}" if exc.field else "params") from None
        # /v2/ endpoints take JSON bodies (the CLI's createJSONPayload); /v1/ the bracketed form encoding
        json_body = json.dumps(params) if path.startswith("/v2/") and method == "POST" else None
        pairs = [] if json_body is not None else encode_params(params)
        if add_fixture_metadata and method == "POST" and not meta.get("exclude_metadata"):
            pairs.append(("metadata[_created_by_fixture]", time.strftime("%Y-%m-%d %H:%M:%S")))
        headers: dict[str, str] = {}
        try:
            if spec.get("idempotency_key"):
                headers["Idempotency-Key"] = resolver.resolve(str(spec["idempotency_key"]))
            for k, v in (spec.get("headers") or {}).items():
                headers[k] = resolver.resolve(str(v))
            if spec.get("context"):
                headers["Stripe-Account"] = resolver.resolve(str(spec["context"]))
        except _RefError as exc:
            raise fail(str(exc), "headers") from None
        # as the CLI's requests.Base.setVersionHeader: `--api-version` on every step; without it a /v1/ step
        # sends no Stripe-Version (the account's default version answers) and a /v2/ step the CLI's own
        version = stripe_version or (CLI_V2_VERSION if path.startswith("/v2/") else None)
        if version:
            headers.setdefault("Stripe-Version", version)
        extra = {"api_base": str(spec["api_base"])} if spec.get("api_base") else {}
        try:
            if json_body is not None:
                status, body = request(method, path, pairs, headers=headers, json_body=json_body, **extra)
            else:
                status, body = request(method, path, pairs, headers=headers, **extra) if headers or extra else \
                    request(method, path, pairs)
        except FixtureError:
            raise
        except Exception as exc:  # a transport failure: report it, not a traceback
            raise fail(f"{method} {path} failed: {type(exc).__name__}: {exc}") from None
        if not 200 <= status < 300:
            err = body.get("error") if isinstance(body, dict) else None
            err = err if isinstance(err, dict) else {}
            if expected and err.get("type") == expected:
                steps.append(Step(name, method, path, status, body, pairs, expected_error=True))
                responses[name] = body
                continue
            detail = err.get("message") or (body if isinstance(body, str) else json.dumps(body)[:300])
            extra = f" (param {err['param']})" if err.get("param") else ""
            code = f" [{err.get('type')}{'/' + err['code'] if err.get('code') else ''}]" if err.get("type") else ""
            field_name = f"params.{err['param']}" if err.get("param") else None
            raise fail(f"{method} {path} returned {status}{code}: {detail}{extra}", field_name,
                       status=status, response=body)
        steps.append(Step(name, method, path, status, body, pairs))
        responses[name] = body
    out_env = {}
    for key, value in (data.get("env") or {}).items():
        try:
            out_env[key] = resolver.resolve(str(value))
        except _RefError as exc:
            raise FixtureError(str(exc), file=label, field=f"env.{key}") from None
    return FixtureResult(label, steps, out_env, list(meta.get("aliases") or []))


# ---- adapters -----------------------------------------------------------------------------------------

def sim_requester(sim, api_key: str | None = None) -> Requester:
    """Call `StripeSim.handle` directly (no HTTP, no `responses`)."""
    key = api_key or sim.test_key

    def request(method: str, path: str, params: Pairs, headers: Mapping[str, str] | None = None,
                json_body: str | None = None, api_base: str | None = None):
        encoded = urlencode(params)  # the simulator serves every Stripe host: `api_base` changes nothing
        hdrs = {"authorization": f"Bearer {key}"}
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        query, body = (encoded, b"") if method in ("GET", "DELETE") else ("", encoded.encode())
        if json_body is not None:
            query, body = "", json_body.encode()
            hdrs["content-type"] = "application/json"
        elif body:
            hdrs["content-type"] = "application/x-www-form-urlencoded"
        resp = sim.handle(method, path, query, hdrs, body)
        return resp.status, _parse(resp.body)

    return request


def http_requester(base_url: str, api_key: str, *, timeout: float = 30.0, client=None) -> Requester:
    """Real HTTP to `base_url` (the simulator's server, stripe-mock, or api.stripe.com) with httpx."""
    import httpx

    http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
    to_stripe = base_url.rstrip("/") == STRIPE_API

    def request(method: str, path: str, params: Pairs, headers: Mapping[str, str] | None = None,
                json_body: str | None = None, api_base: str | None = None):
        if api_base and to_stripe:  # Stripe's other host for this step (meter events)
            path = api_base.rstrip("/") + path
        hdrs = {"Authorization": f"Bearer {api_key}", **(headers or {})}
        if json_body is not None:
            hdrs["Content-Type"] = "application/json"
            resp = http.request(method, path, content=json_body.encode(), headers=hdrs)
        elif method in ("GET", "DELETE"):
            resp = http.request(method, path, params=params, headers=hdrs)
        else:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            resp = http.request(method, path, content=urlencode(params).encode(), headers=hdrs)
        return resp.status_code, _parse(resp.content)

    return request


def _parse(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tiersync.stripe_sim.fixtures",
                                 description="Run a Stripe CLI fixture file against a Stripe API.")
    ap.add_argument("file")
    ap.add_argument("--base-url", default="http://127.0.0.1:12111")
    ap.add_argument("--api-key", default=os.environ.get("STRIPE_API_KEY", "sk_test_tiersync_sim_key"))
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--api-version", default=None, help="as `stripe trigger --api-version`: sent on every step")
    args = ap.parse_args(argv)
    try:
        result = run_fixture(args.file, http_requester(args.base_url, args.api_key), skip=args.skip,
                             stripe_version=args.api_version)
    except FixtureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for s in result.steps:
        ident = s.response.get("id") if isinstance(s.response, dict) else None
        outcome = "skipped" if s.skipped else f"{s.method} {s.path} -> {s.status} {ident or ''}"
        print(f"{s.name}: {outcome}")
    for k, v in result.env.items():
        print(f"{k}={v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
