"""What the simulator stores, and each thing's shape in Clerk's API (``to_api``).

Timestamps in API objects are Unix milliseconds, as Clerk sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SIGN_UP_TTL_S = 600


@dataclass
class EmailAddress:
    id: str
    email_address: str
    strategy: str  # "admin" (Backend API) or "email_code" (hosted sign-up)
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        if self.strategy == "admin":
            verification = {
                "object": "verification_admin",
                "status": "verified",
                "strategy": "admin",
                "attempts": None,
                "expire_at": None,
            }
        else:
            verification = {
                "object": "verification_otp",
                "status": "verified",
                "strategy": "email_code",
                "attempts": 1,
                "expire_at": self.created_at + SIGN_UP_TTL_S * 1000,
            }
        return {
            "id": self.id,
            "object": "email_address",
            "email_address": self.email_address,
            "reserved": False,
            "verification": verification,
            "linked_to": [],
            "matches_sso_connection": False,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class User:
    id: str
    seq: int
    created_at: int
    updated_at: int
    email_addresses: list[EmailAddress] = field(default_factory=list)
    primary_email_address_id: str | None = None
    password_hash: str | None = None
    password_last_updated_at: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    external_id: str | None = None
    public_metadata: dict[str, Any] = field(default_factory=dict)
    private_metadata: dict[str, Any] = field(default_factory=dict)
    unsafe_metadata: dict[str, Any] = field(default_factory=dict)
    last_sign_in_at: int | None = None
    last_active_at: int | None = None
    banned: bool = False
    locked: bool = False

    @property
    def primary_email(self) -> str | None:
        for email in self.email_addresses:
            if email.id == self.primary_email_address_id:
                return email.email_address
        return None

    def to_api(self) -> dict[str, Any]:
        image_url = "https://img.clerk.com/tiersync-sim-default-avatar"
        return {
            "id": self.id,
            "object": "user",
            "external_id": self.external_id,
            "primary_email_address_id": self.primary_email_address_id,
            "primary_phone_number_id": None,
            "primary_web3_wallet_id": None,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "locale": None,
            "profile_image_url": image_url,
            "image_url": image_url,
            "has_image": False,
            "public_metadata": dict(self.public_metadata),
            "private_metadata": dict(self.private_metadata),
            "unsafe_metadata": dict(self.unsafe_metadata),
            "email_addresses": [e.to_api() for e in self.email_addresses],
            "phone_numbers": [],
            "web3_wallets": [],
            "passkeys": [],
            "password_enabled": self.password_hash is not None,
            "password_last_updated_at": self.password_last_updated_at,
            "two_factor_enabled": False,
            "totp_enabled": False,
            "backup_code_enabled": False,
            "mfa_enabled_at": None,
            "mfa_disabled_at": None,
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [],
            "organization_memberships": [],
            "last_sign_in_at": self.last_sign_in_at,
            "banned": self.banned,
            "locked": self.locked,
            "lockout_expires_in_seconds": None,
            "verification_attempts_remaining": 100,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "delete_self_enabled": True,
            "create_organization_enabled": True,
            "create_organizations_limit": None,
            "last_active_at": self.last_active_at,
            "legal_accepted_at": None,
            "bypass_client_trust": False,
        }


@dataclass
class Session:
    id: str
    seq: int
    user_id: str
    client_id: str
    status: str
    created_at: int
    updated_at: int
    last_active_at: int
    expire_at: int
    abandon_at: int
    refresh_token: str
    origin: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "object": "session",
            "id": self.id,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "actor": None,
            "status": self.status,
            "last_active_organization_id": None,
            "last_active_at": self.last_active_at,
            "latest_activity": None,
            "expire_at": self.expire_at,
            "abandon_at": self.abandon_at,
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "tasks": None,
        }


@dataclass
class JwtTemplate:
    id: str
    seq: int
    name: str
    claims: dict[str, Any]
    lifetime: int
    allowed_clock_skew: int
    custom_signing_key: bool
    signing_algorithm: str
    signing_key: str | None
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        # The signing key is a secret: Clerk never returns it, neither do we.
        return {
            "object": "jwt_template",
            "id": self.id,
            "name": self.name,
            "claims": self.claims,
            "lifetime": self.lifetime,
            "allowed_clock_skew": self.allowed_clock_skew,
            "custom_signing_key": self.custom_signing_key,
            "signing_algorithm": self.signing_algorithm,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class PendingSignUp:
    id: str
    email: str
    password_hash: str
    redirect_url: str | None
    code: str
    expires_at: float
    attempts: int = 0


@dataclass
class HandoffCode:
    """One-time code that carries a fresh sign-in from the hosted page to the app."""

    code: str
    session_id: str
    expires_at: float
    used: bool = False


@dataclass
class SentEmail:
    to: str
    subject: str
    code: str
