"""Users and their metadata: the Backend API's ``/v1/users`` operations, listing filters and order."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .. import errors, metadata
from ..ids import new_id
from .entities import EmailAddress, User
from .params import MAX_LIST_LIMIT, int_param, optional_str, string_list
from .passwords import hash_password
from .state import BackendState

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
USER_ORDER_FIELDS = (
    "created_at",
    "updated_at",
    "email_address",
    "first_name",
    "last_name",
    "username",
    "last_sign_in_at",
    "last_active_at",
)


class UsersBackend(BackendState):
    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise errors.resource_not_found("user", user_id)
        return user

    def _email_taken(self, email: str, except_user: str | None = None) -> bool:
        wanted = email.lower()
        return any(
            e.email_address.lower() == wanted
            for u in self.users.values()
            if u.id != except_user
            for e in u.email_addresses
        )

    def get_user(self, user_id: str) -> dict[str, Any]:
        with self.lock:
            return self._user(user_id).to_api()

    def create_user(
        self, body: dict[str, Any], *, strategy: str = "admin", password_hash: str | None = None
    ) -> dict[str, Any]:
        """POST /v1/users. ``password_hash`` is for the hosted sign-up, never read from a body."""
        with self.lock:
            emails = string_list(body, "email_address")
            for email in emails:
                if not EMAIL_RE.match(email):
                    raise errors.param_format_invalid("email_address", "email_address must be a valid email address.")
                if self._email_taken(email) or emails.count(email) > 1:
                    raise errors.identifier_exists("email_address")
            username = optional_str(body, "username")
            if username and any(u.username == username for u in self.users.values()):
                raise errors.identifier_exists("username", "username")
            if not emails and not username:
                raise errors.param_missing("email_address")
            password = optional_str(body, "password")
            if password is not None:
                if len(password) < MIN_PASSWORD_LENGTH and not body.get("skip_password_checks"):
                    raise errors.password_too_short(MIN_PASSWORD_LENGTH)
                password_hash = hash_password(password)
            now = self.clock.now_ms()
            user = User(
                id=new_id("user"),
                seq=next(self._seq),
                created_at=now,
                updated_at=now,
                password_hash=password_hash,
                password_last_updated_at=now if password_hash else None,
                first_name=optional_str(body, "first_name"),
                last_name=optional_str(body, "last_name"),
                username=username,
                external_id=optional_str(body, "external_id"),
            )
            for name in metadata.METADATA_FIELDS:
                if name in body:
                    setattr(user, name, metadata.validate(name, body[name]))
            user.email_addresses = [EmailAddress(new_id("idn"), e, strategy, now, now) for e in emails]
            user.primary_email_address_id = user.email_addresses[0].id if emails else None
            self.users[user.id] = user
            data = user.to_api()
        self.on_event("user.created", data)
        return data

    def update_user(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self._user(user_id)
            changes: dict[str, Any] = {}
            for name in ("first_name", "last_name", "external_id", "username"):
                if name in body:
                    changes[name] = optional_str(body, name)
            if changes.get("username") and any(
                u.username == changes["username"] for u in self.users.values() if u.id != user_id
            ):
                raise errors.identifier_exists("username", "username")
            if "primary_email_address_id" in body:
                wanted = optional_str(body, "primary_email_address_id")  # a list or object: 422, not a 500
                if wanted not in {e.id for e in user.email_addresses}:
                    raise errors.param_value_invalid(
                        "primary_email_address_id", "primary_email_address_id must belong to the user."
                    )
                changes["primary_email_address_id"] = wanted
            password = optional_str(body, "password")
            if password is not None:
                if len(password) < MIN_PASSWORD_LENGTH and not body.get("skip_password_checks"):
                    raise errors.password_too_short(MIN_PASSWORD_LENGTH)
            # PATCH /users/{id} replaces metadata fields wholesale (only the metadata route merges).
            for name in metadata.METADATA_FIELDS:
                if name in body:
                    changes[name] = metadata.validate(name, body[name])
            for name, value in changes.items():
                setattr(user, name, value)
            now = self.clock.now_ms()
            if password is not None:
                user.password_hash = hash_password(password)
                user.password_last_updated_at = now
            user.updated_at = now
            data = user.to_api()
        self.on_event("user.updated", data)
        return data

    def merge_metadata(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v1/users/{id}/metadata: deep merge, null deletes."""
        with self.lock:
            user = self._user(user_id)
            merged = {}
            for name in metadata.METADATA_FIELDS:
                if name not in body:
                    continue
                patch = body[name]
                if patch is None:
                    merged[name] = {}
                    continue
                if not isinstance(patch, dict):
                    raise errors.param_format_invalid(name, f"{name} must be a JSON object.")
                merged[name] = metadata.deep_merge(getattr(user, name), patch)
                metadata.check_size(name, merged[name])
            return self._store_metadata(user, merged)

    def replace_metadata(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT /v1/users/{id}/metadata: each given field is replaced in full, others kept."""
        with self.lock:
            user = self._user(user_id)
            replaced = {name: metadata.validate(name, body[name]) for name in metadata.METADATA_FIELDS if name in body}
            return self._store_metadata(user, replaced)

    def _store_metadata(self, user: User, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        for name, value in values.items():
            setattr(user, name, value)
        user.updated_at = self.clock.now_ms()
        data = user.to_api()
        self.on_event("user.updated", data)
        return data

    def delete_user(self, user_id: str) -> dict[str, Any]:
        with self.lock:
            self._user(user_id)
            del self.users[user_id]
            now = self.clock.now_ms()
            for session in self.sessions.values():
                if session.user_id == user_id and session.status == "active":
                    session.status, session.updated_at = "removed", now
        deleted = {"object": "user", "id": user_id, "deleted": True}
        self.on_event("user.deleted", dict(deleted))
        return deleted

    def list_users(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        with self.lock:
            users = [u for u in self.users.values() if _user_matches(u, query)]
            order = (query.get("order_by") or ["-created_at"])[0]
            users = _order_users(users, order)
            limit = int_param(query, "limit", 10, 1, MAX_LIST_LIMIT)
            offset = int_param(query, "offset", 0, 0, None)
            return [u.to_api() for u in users[offset : offset + limit]]

    def count_users(self, query: dict[str, list[str]]) -> dict[str, Any]:
        with self.lock:
            total = sum(1 for u in self.users.values() if _user_matches(u, query))
            return {"object": "total_count", "total_count": total}


def _lower_set(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def _user_matches(user: User, query: dict[str, list[str]]) -> bool:
    emails = _lower_set(e.email_address for e in user.email_addresses)
    if "email_address" in query and not emails & _lower_set(query["email_address"]):
        return False
    if "user_id" in query and user.id not in query["user_id"]:
        return False
    if "external_id" in query and user.external_id not in query["external_id"]:
        return False
    if "username" in query and user.username not in query["username"]:
        return False
    if "phone_number" in query:
        return False  # the simulator's users have no phone numbers
    texts = {
        "email_address_query": list(emails),
        "username_query": [user.username or ""],
        "name_query": [f"{user.first_name or ''} {user.last_name or ''}"],
        "query": [*emails, user.username or "", user.id, user.first_name or "", user.last_name or ""],
    }
    for param, haystacks in texts.items():
        needle = (query.get(param) or [None])[0]
        if needle and not any(needle.lower() in h.lower() for h in haystacks):
            return False
    if "banned" in query and str(user.banned).lower() != query["banned"][0].lower():
        return False
    for param, attr, before in (
        ("created_at_before", "created_at", True),
        ("created_at_after", "created_at", False),
        ("last_active_at_before", "last_active_at", True),
        ("last_active_at_after", "last_active_at", False),
        ("last_sign_in_at_before", "last_sign_in_at", True),
        ("last_sign_in_at_after", "last_sign_in_at", False),
    ):
        if param in query:
            bound = int_param(query, param, 0, 0, None)
            value = getattr(user, attr)
            if value is None or (value >= bound if before else value <= bound):
                return False
    return True


def _order_users(users: list[User], order: str) -> list[User]:
    descending = order.startswith("-")
    name = order.lstrip("+-")
    if name not in USER_ORDER_FIELDS:
        raise errors.param_value_invalid("order_by", f"order_by must be one of {', '.join(USER_ORDER_FIELDS)}.")

    def key(user: User) -> tuple[Any, ...]:
        value = user.primary_email if name == "email_address" else getattr(user, name)
        # None sorts last ascending; seq keeps users created in the same millisecond stable.
        return (value is None, value if value is not None else 0, user.seq)

    ordered = sorted(users, key=key)
    return list(reversed(ordered)) if descending else ordered
