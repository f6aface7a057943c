"""JWT templates: ``/v1/jwt_templates``, and the reserved claims no template (nor the session token) may set."""

from __future__ import annotations

from typing import Any

from .. import errors, tokens
from ..ids import new_id
from .entities import JwtTemplate
from .state import BackendState


class TemplatesBackend(BackendState):
    def _template(self, template_id: str) -> JwtTemplate:
        template = self.templates.get(template_id)
        if template is None:
            raise errors.resource_not_found("JWT template", template_id)
        return template

    def _template_by_name(self, name: str) -> JwtTemplate:
        for template in self.templates.values():
            if template.name == name:
                return template
        raise errors.resource_not_found("JWT template", name)

    def list_templates(self) -> list[dict[str, Any]]:
        with self.lock:
            return [t.to_api() for t in sorted(self.templates.values(), key=lambda t: t.seq)]

    def get_template(self, template_id: str) -> dict[str, Any]:
        with self.lock:
            return self._template(template_id).to_api()

    def create_template(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            fields = template_fields(body)
            if any(t.name == fields["name"] for t in self.templates.values()):
                raise errors.duplicate_record("JWT template", fields["name"])
            now = self.clock.now_ms()
            template = JwtTemplate(
                id=new_id("jtmp"), seq=next(self._seq), created_at=now, updated_at=now, **fields
            )
            self.templates[template.id] = template
            return template.to_api()

    def update_template(self, template_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            template = self._template(template_id)
            fields = template_fields(body)
            if any(t.name == fields["name"] and t.id != template_id for t in self.templates.values()):
                raise errors.duplicate_record("JWT template", fields["name"])
            for name, value in fields.items():
                setattr(template, name, value)
            template.updated_at = self.clock.now_ms()
            return template.to_api()

    def delete_template(self, template_id: str) -> dict[str, Any]:
        with self.lock:
            self._template(template_id)
            del self.templates[template_id]
            return {"object": "jwt_template", "id": template_id, "deleted": True}


def reject_reserved(claims: dict[str, Any]) -> None:
    reserved = sorted(tokens.RESERVED_CLAIMS & set(claims))
    if reserved:
        raise errors.param_value_invalid(
            "claims", f"The following claims are reserved and cannot be set: {', '.join(reserved)}."
        )


def template_fields(body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.param_missing("name")
    claims = body.get("claims")
    if claims is None:
        raise errors.param_missing("claims")
    if not isinstance(claims, dict):
        raise errors.param_format_invalid("claims", "claims must be a JSON object.")
    reject_reserved(claims)
    lifetime = body.get("lifetime") if body.get("lifetime") is not None else tokens.DEFAULT_LIFETIME_S
    skew = body.get("allowed_clock_skew")
    skew = tokens.DEFAULT_CLOCK_SKEW_S if skew is None else skew
    for param, value, low, high in (("lifetime", lifetime, 30, 315_360_000), ("allowed_clock_skew", skew, 0, 300)):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise errors.param_value_invalid(param, f"{param} must be an integer between {low} and {high}.")
    custom = bool(body.get("custom_signing_key"))
    algorithm = body.get("signing_algorithm") or ("HS256" if custom else "RS256")
    signing_key = body.get("signing_key")
    if custom:
        if algorithm not in tokens.HMAC_ALGORITHMS:
            raise errors.param_value_invalid(
                "signing_algorithm", f"The simulator signs custom-key templates with {', '.join(tokens.HMAC_ALGORITHMS)}."
            )
        if not isinstance(signing_key, str) or not signing_key:
            raise errors.param_missing("signing_key")
    elif algorithm != "RS256":
        raise errors.param_value_invalid("signing_algorithm", "Without a custom signing key, templates use RS256.")
    return {
        "name": name.strip(),
        "claims": claims,
        "lifetime": lifetime,
        "allowed_clock_skew": skew,
        "custom_signing_key": custom,
        "signing_algorithm": algorithm,
        "signing_key": signing_key if custom else None,
    }
