"""Users and metadata through the official Python SDK, in-process and over HTTP."""

from __future__ import annotations

import pytest
from clerk_backend_api import Clerk, models

from tiersync.clerk_sim import ClerkSim

from .conftest import NO_RETRIES, make_sdk

PASSWORD = "correct-horse-battery"


def _create(clerk: Clerk, email: str, **kwargs) -> models.User:
    return clerk.users.create(email_address=[email], password=PASSWORD, **kwargs)


def test_create_and_get_user_validates_as_sdk_user(clerk: Clerk, csim: ClerkSim) -> None:
    user = _create(clerk, "ada+clerk_test@example.com", first_name="Ada", last_name="Lovelace")
    assert user.id.startswith("user_")
    assert user.email_addresses[0].email_address == "ada+clerk_test@example.com"
    assert user.primary_email_address_id == user.email_addresses[0].id
    assert user.password_enabled is True
    assert user.public_metadata == {}
    fetched = clerk.users.get(user_id=user.id)
    assert (fetched.id, fetched.first_name, fetched.last_name) == (user.id, "Ada", "Lovelace")
    # The raw JSON carries every field the SDK's User model requires.
    raw = csim.get_user(user.id)
    required = {name for name, f in models.User.model_fields.items() if f.is_required()}
    assert required <= set(raw), required - set(raw)
    assert len(required) == 35
    assert raw["created_at"] > 10**12  # milliseconds, like Clerk


def test_list_filters_order_and_pagination(clerk: Clerk) -> None:
    ids = [_create(clerk, f"user{i}@example.com", username=f"user{i}").id for i in range(5)]
    by_email = clerk.users.list(request={"email_address": ["user3@example.com", "nobody@example.com"]})
    assert [u.id for u in by_email] == [ids[3]]
    newest_first = clerk.users.list(request={"limit": 2})
    assert [u.id for u in newest_first] == [ids[4], ids[3]]
    second_page = clerk.users.list(request={"limit": 2, "offset": 2})
    assert [u.id for u in second_page] == [ids[2], ids[1]]
    oldest_first = clerk.users.list(request={"order_by": "+created_at", "limit": 1})
    assert [u.id for u in oldest_first] == [ids[0]]
    assert [u.id for u in clerk.users.list(request={"query": "user2"})] == [ids[2]]
    assert [u.id for u in clerk.users.list(request={"user_id": [ids[1], ids[2]], "order_by": "created_at"})] == ids[1:3]
    assert clerk.users.count(request={}).total_count == 5
    assert clerk.users.count(request={"email_address_query": "user4"}).total_count == 1


def test_update_and_delete_user(clerk: Clerk, csim: ClerkSim) -> None:
    user = _create(clerk, "grace@example.com", public_metadata={"plan": "free", "keep": 1})
    updated = clerk.users.update(user_id=user.id, first_name="Grace", external_id="ext_42")
    assert (updated.first_name, updated.external_id) == ("Grace", "ext_42")
    assert updated.public_metadata == {"plan": "free", "keep": 1}
    assert updated.updated_at >= user.updated_at
    deleted = clerk.users.delete(user_id=user.id)
    assert (deleted.object, deleted.id, deleted.deleted) == ("user", user.id, True)
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.users.get(user_id=user.id)
    assert excinfo.value.raw_response.status_code == 404
    assert excinfo.value.data.errors[0].code == "resource_not_found"


def test_metadata_deep_merge_and_null_delete(clerk: Clerk) -> None:
    user = _create(
        clerk,
        "merge@example.com",
        public_metadata={"plan": "free", "limits": {"requests": 5, "seats": 1}, "flag": True},
        private_metadata={"stripe_customer": "cus_1"},
    )
    merged = clerk.users.update_metadata(
        user_id=user.id,
        public_metadata={"plan": "pro", "limits": {"requests": 50, "seats": None}, "flag": None},
    )
    assert merged.public_metadata == {"plan": "pro", "limits": {"requests": 50}}
    assert merged.private_metadata == {"stripe_customer": "cus_1"}  # untouched field kept
    merged = clerk.users.update_metadata(user_id=user.id, private_metadata={"stripe_customer": None})
    assert merged.private_metadata == {}


def test_metadata_replace_keeps_omitted_fields(clerk: Clerk) -> None:
    user = _create(clerk, "replace@example.com", public_metadata={"plan": "free", "x": {"y": 1}}, unsafe_metadata={"u": 1})
    replaced = clerk.users.replace_metadata(user_id=user.id, public_metadata={"plan": "enterprise"})
    assert replaced.public_metadata == {"plan": "enterprise"}
    assert replaced.unsafe_metadata == {"u": 1}


def test_errors_map_to_sdk_error_classes(clerk: Clerk, csim: ClerkSim, clerk_mode: str) -> None:
    _create(clerk, "dup@example.com")
    with pytest.raises(models.ClerkErrors) as excinfo:
        _create(clerk, "dup@example.com")
    assert excinfo.value.raw_response.status_code == 422
    assert excinfo.value.data.errors[0].code == "form_identifier_exists"
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.users.create(email_address=["short@example.com"], password="abc")
    assert excinfo.value.data.errors[0].code == "form_password_length_too_short"
    with pytest.raises(models.ClerkErrors) as excinfo:
        clerk.users.create(email_address=["not-an-email"])
    assert excinfo.value.data.errors[0].code == "form_param_format_invalid"

    with make_sdk(csim, clerk_mode, secret_key="sk_test_not_the_right_key", retries=NO_RETRIES) as wrong:
        with pytest.raises(models.ClerkErrors) as excinfo:
            wrong.users.list(request={})
    assert excinfo.value.raw_response.status_code == 401
    assert excinfo.value.data.errors[0].code == "clerk_key_invalid"
    assert excinfo.value.raw_response.json()["clerk_trace_id"]


def test_users_created_by_helper_are_visible_to_the_sdk(clerk: Clerk, csim: ClerkSim) -> None:
    user = csim.create_user("helper@example.com", password=PASSWORD, public_metadata={"plan": "free"})
    assert clerk.users.get(user_id=user["id"]).public_metadata == {"plan": "free"}
    csim.update_metadata(user["id"], public_metadata={"plan": "pro"})
    assert clerk.users.get(user_id=user["id"]).public_metadata == {"plan": "pro"}
