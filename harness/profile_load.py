"""Find, read and check an app profile; the reference receiver's built-in profile. Every problem comes back
at once, each naming the file, the field and what was found, before anything runs."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .profile import Profile

PROFILE_FILE = "tiersync.toml"


class ProfileError(Exception):
    """The profile cannot be used; `problems` lists why, one line each (file: field: what was found)."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        super().__init__(f"{source}: " + "; ".join(problems) if len(problems) == 1 else
                         f"{source}: {len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems))


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model that holds the last key of `loc` (to suggest known keys for an unknown one)."""
    model: type[BaseModel] | None = Profile
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = inner[0] if inner else None
    return model


def _where(loc: tuple, data: dict) -> str:
    parts, node = [], data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and part < len(node) and \
                isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({name})" if name else "")
        else:
            parts.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)


def describe_errors(exc: ValidationError, data: dict) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
        where = _where(loc, data)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            model = _model_at(loc)
            known = list(model.model_fields) if model else []
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f", did you mean {close[0]!r}?" if close else (f" (known: {', '.join(known)})" if known else "")
            out.append(f"{where}: unknown key {key!r}{hint}")
            continue
        if err["type"] == "missing":
            out.append(f"{where}: missing (required)")
            continue
        found = err.get("input")
        shown = "" if err["type"].startswith("value_error") or isinstance(found, dict) else f" (found {found!r})"
        out.append(f"{where}: {msg}{shown}" if where else f"{msg}{shown}")
    return list(dict.fromkeys(out))  # a union's branches can repeat one message


def parse_profile(data: dict, source: str = "profile") -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, describe_errors(exc, data)) from None


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(str(path), [f"cannot read ({exc.strerror or exc})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_profile(data, str(path))


def find_profile(start: str | Path = ".") -> Path | None:
    """`tiersync.toml` in `start` (the user's app folder), if there is one."""
    candidate = Path(start) / PROFILE_FILE
    return candidate if candidate.is_file() else None


REFERENCE = {
    "name": "tiersync reference receiver",
    "tiers": [
        {"name": "free", "limit": 5},
        {"name": "pro", "limit": 50, "price_env": "STRIPE_PRICE_ID_PRO", "amount": 2900},
        {"name": "enterprise", "limit": "unlimited", "price_env": "STRIPE_PRICE_ID_ENTERPRISE", "amount": 9900},
    ],
    "tier_source": {"kind": "http", "path": "/api/me", "pointer": "/tier"},
    "api": {
        "checkout": {"path": "/api/create-checkout", "body": {"tier": "{tier}"}, "session": "/id"},
        "portal": {"path": "/api/customer-portal", "url": "/url"},
        "usage": {"path": "/api/usage", "used": "/used", "limit": "/limit", "tier": "/tier", "unlimited": "null"},
        "metered": {"path": "/api/data", "limit_status": 429},
    },
    "webhook": {"path": "/webhook/stripe"},
    "features": {"trials": True, "portal": True, "plan_changes_outside_app": True, "promotion_codes": True,
                 "api_subscriptions": True},
}


def reference_profile() -> Profile:
    """The bundled reference receiver's own profile: `tiersync run` without --profile uses it."""
    return parse_profile(REFERENCE, "the reference receiver's built-in profile")
