"""Stripe's request parameters: bracket form-decoding and a small declarative validator.

`decode_form("items[0][price]=p&metadata[plan]=pro&expand[]=x")` gives nested dicts and lists;
a `Spec` then checks names and types and produces Stripe's messages ("Received unknown parameter: foo",
"Missing required param: currency.", "Invalid integer: abc") with the full bracketed param name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from .errors import InvalidRequest, invalid, missing, unknown_params
from .store import SharedDict

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")  # `%zz`, or `%` at the end: no percent-encoding
# Stripe's answer to a body it cannot parse (Rack refuses a malformed %-escape): quoted from real responses in
# arlyon/async-stripe#922 and a WooCommerce Stripe plugin log; type invalid_request_error, no code, no param
UNPARSEABLE = ("Invalid request (check your POST parameters): For assistance, contact support at "
               "https://support.stripe.com/contact/.")
MAX_DEPTH = 8
MAX_ARRAY = 1000


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    rest = "[" + rest
    parts = _SEGMENT.findall(rest)
    if "".join(f"[{p}]" for p in parts) != rest or not head:
        raise InvalidRequest(f"Invalid parameter name: {key}", code="parameter_invalid", param=key)
    if len(parts) > MAX_DEPTH:
        raise InvalidRequest(f"Parameter nested too deeply: {key}", code="parameter_invalid", param=key)
    return [head, *parts]


def decode_form(body: str) -> dict:
    """Decode bracket form-encoding. `a[]` appends; `a[0]` indexes; `a[k]` is a dict key."""
    root: dict = {}
    if "%" in body and _BAD_ESCAPE.search(body):  # Python would keep `%zz` as text; Stripe refuses the request
        raise InvalidRequest(UNPARSEABLE)
    try:
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=False, max_num_fields=10000, errors="strict")
    except UnicodeDecodeError:  # percent-encoded bytes that are not UTF-8: refused, never stored as U+FFFD
        # no public record of Stripe's answer to this one: its generic one for a body it cannot parse
        raise InvalidRequest(UNPARSEABLE) from None
    except ValueError as exc:  # too many fields
        raise InvalidRequest(f"Invalid request body: {exc}") from None
    for key, value in pairs:
        path = _split_key(key)
        node: Any = root
        for i, seg in enumerate(path):
            last = i == len(path) - 1
            if seg == "":
                # `a[]`: a new element; `a[][b]` groups b into the last element unless b is already set
                seg = str(len(node))
                if not last and node:
                    prev = node.get(str(len(node) - 1))
                    if isinstance(prev, dict) and path[i + 1] not in prev:
                        seg = str(len(node) - 1)
            if last:
                if isinstance(node.get(seg), dict):
                    raise _conflict(key)
                node[seg] = value
            else:
                child = node.setdefault(seg, {})
                if not isinstance(child, dict):
                    raise _conflict(key)
                node = child
    return {k: _listify(v) for k, v in root.items()}


def _conflict(key: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid parameter: {key} was given both as a value and as a hash.",
                          code="parameter_invalid", param=key)


def _listify(node):
    """Dicts whose keys are all integers become lists, ordered by index."""
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v) for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        if len(out) > MAX_ARRAY:
            raise InvalidRequest(f"Arrays may have at most {MAX_ARRAY} elements.")
        return [out[k] for k in sorted(out, key=int)]
    return out


# ---- validation -------------------------------------------------------------------------------------

class Field:
    """Base of the validators: `check(value, name)` returns the coerced value or raises."""

    def __init__(self, required: bool = False, nullable: bool = False):
        self.required = required
        self.nullable = nullable  # '' means "unset" for this field

    def check(self, value, name: str):
        raise NotImplementedError


class Str(Field):
    def __init__(self, max_length: int = 5000, choices: tuple[str, ...] | None = None, **kw):
        super().__init__(**kw)
        self.max_length = max_length
        self.choices = choices

    def check(self, value, name):
        if not isinstance(value, str):
            raise invalid(name, f"Invalid string: {_show(value)}", "parameter_invalid_string")
        if self.choices is not None and value not in self.choices:
            raise invalid(name, f"Invalid {name}: must be one of {_one_of(self.choices)}")
        if len(value) > self.max_length:
            raise invalid(name, f"Invalid string: {value[:20]}...; must be at most {self.max_length} characters",
                          "parameter_invalid_string")
        return value


class Email(Str):
    """An e-mail address: Stripe refuses what cannot be one ("Invalid email address: x", email_invalid)."""

    _SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def __init__(self, max_length: int = 512, **kw):
        super().__init__(max_length=max_length, **kw)

    def check(self, value, name):
        value = super().check(value, name)
        if not self._SHAPE.match(value):
            raise invalid(name, f"Invalid email address: {value}", "email_invalid")
        return value


class Url(Str):
    """A URL the browser is sent to: http(s) with a host, else Stripe's "Not a valid URL" (url_invalid).
    `javascript:` and other schemes never reach a hosted page's links."""

    _SHAPE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)

    def __init__(self, max_length: int = 5000, **kw):
        super().__init__(max_length=max_length, **kw)

    def check(self, value, name):
        value = super().check(value, name)
        if not self._SHAPE.match(value):
            raise invalid(name, "Not a valid URL", "url_invalid")
        return value


class Enum(Str):
    def __init__(self, *choices: str, **kw):
        super().__init__(choices=choices, **kw)


class Int(Field):
    def __init__(self, min: int | None = None, max: int | None = None, **kw):
        super().__init__(**kw)
        self.min, self.max = min, max

    def check(self, value, name):
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        elif isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value):  # " 5" is refused, as by Stripe
            n = int(value)
        else:
            raise invalid(name, f"Invalid integer: {_show(value)}", "parameter_invalid_integer")
        if self.min is not None and n < self.min:
            raise invalid(name, f"Invalid {name}: must be greater than or equal to {self.min}",
                          "parameter_invalid_integer")
        if self.max is not None and n > self.max:
            raise invalid(name, f"Invalid {name}: must be less than or equal to {self.max}",
                          "parameter_invalid_integer")
        return n


class Decimal(Field):
    def check(self, value, name):
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise invalid(name, f"Invalid decimal: {_show(value)}", "parameter_invalid_decimal") from None
        if f != f or f in (float("inf"), float("-inf")):
            raise invalid(name, f"Invalid decimal: {_show(value)}", "parameter_invalid_decimal")
        return f


class Bool(Field):
    def check(self, value, name):
        if isinstance(value, bool):
            return value
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise invalid(name, f"Invalid boolean: {_show(value)}", "parameter_invalid_boolean")


class Timestamp(Int):
    """A unix timestamp, or one of the given keywords (e.g. 'now')."""

    def __init__(self, keywords: tuple[str, ...] = (), **kw):
        super().__init__(min=0, **kw)
        self.keywords = keywords

    def check(self, value, name):
        if isinstance(value, str) and value in self.keywords:
            return value
        return super().check(value, name)


class Metadata(Field):
    """Stripe metadata: up to 50 keys, key <= 40 chars, value <= 500 chars; '' unsets a key or all."""

    def __init__(self, **kw):
        super().__init__(nullable=True, **kw)

    def check(self, value, name):
        if not isinstance(value, dict):
            raise invalid(name, "Invalid object", "parameter_invalid_empty" if value else "parameter_invalid")
        if len(value) > 50:
            raise invalid(name, "Metadata can have at most 50 keys.")
        out = {}
        for k, v in value.items():
            if len(k) > 40:
                raise invalid(f"{name}[{k}]", f"Metadata keys can have a maximum length of 40 characters. "
                              f"The key `{k[:40]}...` is too long.")
            if isinstance(v, (dict, list)):
                raise invalid(f"{name}[{k}]", f"Invalid string: {_show(v)}", "parameter_invalid_string")
            if len(v) > 500:
                raise invalid(f"{name}[{k}]", "Metadata values can have a maximum length of 500 characters.")
            out[k] = v
        return out


class List(Field):
    def __init__(self, item: Field, max_items: int = 100, **kw):
        super().__init__(**kw)
        self.item, self.max_items = item, max_items

    def check(self, value, name):
        if isinstance(value, dict) and not value:
            value = []
        if not isinstance(value, list):
            if isinstance(value, str) and isinstance(self.item, Str):
                value = [value]  # `expand=foo` is accepted like `expand[]=foo`
            else:
                raise invalid(name, "Invalid array", "parameter_invalid_array")
        if len(value) > self.max_items:
            raise invalid(name, f"Invalid array: must have at most {self.max_items} elements",
                          "parameter_invalid_array")
        return [self.item.check(v, f"{name}[{i}]") for i, v in enumerate(value)]


class Obj(Field):
    """A hash parameter with known keys."""

    def __init__(self, fields: dict[str, Field], **kw):
        super().__init__(**kw)
        self.fields = fields

    def check(self, value, name):
        if not isinstance(value, dict):
            raise invalid(name, "Invalid object", "parameter_invalid")
        return check_fields(self.fields, value, name)


class Any_(Field):
    def check(self, value, name):
        return value


class Custom(Field):
    def __init__(self, fn: Callable[[Any, str], Any], **kw):
        super().__init__(**kw)
        self.fn = fn

    def check(self, value, name):
        return self.fn(value, name)


def check_fields(fields: dict[str, Field], given: dict, prefix: str = "") -> dict:
    def full(key):
        return f"{prefix}[{key}]" if prefix else key

    unknown = [full(k) for k in given if k not in fields]
    if unknown:
        raise unknown_params(unknown)
    out = {}
    for key, field in fields.items():
        if key not in given:
            if field.required:
                raise missing(full(key))
            continue
        value = given[key]
        if value == "":  # '' unsets an optional field (and clears a whole metadata hash), as in Stripe
            if field.required:
                raise missing(full(key))
            out[key] = None
            continue
        out[key] = field.check(value, full(key))
    return out


def _show(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in list(value.items())[:5]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value[:5]) + "]"
    return str(value)[:60]


def _one_of(choices) -> str:
    choices = list(choices)
    if len(choices) == 1:
        return choices[0]
    return ", ".join(choices[:-1]) + f", or {choices[-1]}"


EXPAND = List(Str(max_length=500), max_items=100)
LIST_PARAMS: dict[str, Field] = {
    "limit": Int(min=1, max=100),
    "starting_after": Str(),
    "ending_before": Str(),
    "expand": EXPAND,
}
CREATED_FILTER = Custom(lambda v, n: _range_filter(v, n))


def _range_filter(value, name):
    if isinstance(value, dict):
        return check_fields({k: Int(min=0) for k in ("gt", "gte", "lt", "lte")}, value, name)
    return {"eq": Int(min=0).check(value, name)}


# The one empty metadata hash every object without metadata shares (a long run holds millions): a
# read-only SharedDict, so sharing it can never leak a key from one object to another.
EMPTY_METADATA = SharedDict()


class _EmptyList(list):
    """The one empty list that objects' always-empty arrays share (tax rates, line discounts...).
    It refuses changes for the same reason as EMPTY_METADATA; it equals, and serialises as, []."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("shared empty list: assign a new list instead of changing it")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


EMPTY_LIST = _EmptyList()


def merge_metadata(current: dict, update: dict | None) -> dict:
    """Stripe's metadata update: keys merge; '' deletes a key; unset ('' for the whole hash) clears."""
    if update is None:
        return EMPTY_METADATA
    out = dict(current)
    for k, v in update.items():
        if v == "":
            out.pop(k, None)
        else:
            out[k] = v
    return out if out else EMPTY_METADATA
