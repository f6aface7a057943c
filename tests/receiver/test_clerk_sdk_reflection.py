"""The receiver builds the Clerk SDK's per-call reflection once (receiver/clerk.py): the cached results
must be exactly what the SDK would have built, and the SDK must still work end to end."""

from __future__ import annotations

import typing

from clerk_backend_api import models
from clerk_backend_api.utils import serializers, url

import tiersync.receiver.clerk  # noqa: F401  (applies the memoization)


def test_type_hints_are_computed_once_and_equal_typings():
    cls = models.UpdateUserMetadataRequest
    first = url.get_type_hints(cls)
    assert first == typing.get_type_hints(cls)
    assert url.get_type_hints(cls) is first  # cached


def test_model_classes_are_built_once_and_still_validate():
    first = serializers.unmarshal({"object": "user", "id": "user_1"}, dict[str, str])
    assert first == {"object": "user", "id": "user_1"}
    built = serializers.create_model("Unmarshaller", body=(dict[str, int], ...))
    assert serializers.create_model("Unmarshaller", body=(dict[str, int], ...)) is built
    assert built(body={"a": "1"}).body == {"a": 1}


def test_lazy_sdk_attributes_are_kept_once_found_and_unknown_names_still_fail():
    from clerk_backend_api import utils
    models.__dict__.pop("GetUserRequest", None)
    found = models.GetUserRequest  # through the module's lazy __getattr__
    assert models.__dict__["GetUserRequest"] is found  # now a plain attribute
    assert utils.marshal_json is utils.__dict__["marshal_json"]
    try:
        models.NoSuchModel  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchModel" in str(exc)
    else:
        raise AssertionError("an unknown name must still raise AttributeError")


def test_merge_through_the_sdk_keeps_other_keys(app):
    user = app.user()
    gateway = app.st.receiver_app.state.clerk
    gateway.merge_public_metadata(user.id, {"theme": "dark"})
    for _ in range(2):  # the second call runs on the cached classes
        gateway.merge_public_metadata(user.id, {"plan": "pro"})
    assert gateway.public_metadata(user.id) == {"theme": "dark", "plan": "pro"}
    assert app.metadata(user) == {"theme": "dark", "plan": "pro"}


def test_the_gateway_loads_the_sdk_parts_a_webhook_needs_before_the_first_one():
    """Otherwise the first webhook a worker handles waits ~270 ms for the SDK's lazy imports."""
    import subprocess
    import sys
    code = ("import sys; from tiersync.receiver.clerk import ClerkGateway; "
            "before = {m for m in sys.modules if m.startswith('clerk_backend_api.')}; "
            "ClerkGateway('sk_test_x', 'http://127.0.0.1:9'); "
            "after = {m for m in sys.modules if m.startswith('clerk_backend_api.')}; "
            "print(sorted(after - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'clerk_backend_api.users'" in out and "'clerk_backend_api.models.user'" in out
