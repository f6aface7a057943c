"""The official Node SDK (@clerk/backend 3.x) and the /clerk.js page snippet, run with Node.

``npm ci`` installs the committed lockfile into tests/clerk_sim/node/ on first use (under a
file lock, so xdist workers don't race). Skipped only when node/npm are not installed.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tiersync.clerk_sim import ClerkSimServer

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(not (NODE and NPM), reason="node and npm are needed for the Node SDK contract test")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (NODE_DIR / "node_modules" / "@clerk" / "backend" / "package.json").exists():
            subprocess.run(
                [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR, check=True, capture_output=True, timeout=300,
            )
    return NODE_DIR / "node_modules"


def run_node(script: str, config: dict) -> dict:
    result = subprocess.run(
        [NODE, script, json.dumps(config)], cwd=NODE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_clerk_backend_sdk_against_the_simulator(node_modules: Path, clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    version = json.loads((node_modules / "@clerk" / "backend" / "package.json").read_text())["version"]
    assert version.startswith("3.")
    sim.set_session_claims({"plan": "{{user.public_metadata.plan}}"})
    user = sim.create_user(
        "node@example.com", password="correct-horse-battery", public_metadata={"plan": "free", "legacy": True}
    )
    token = sim.mint_token(user_id=user["id"])
    config = {
        "secretKey": sim.secret_key,
        "apiUrl": clerk_server.url,
        "jwtKey": sim.jwt_public_key_pem,
        "userId": user["id"],
        "email": "node@example.com",
        "token": token,
        "expiredToken": sim.mint_token(user_id=user["id"], issued_ago=300),
    }
    out = run_node("contract.mjs", config)

    assert out["getUser"] == {
        "id": user["id"], "email": "node@example.com",
        "publicMetadata": {"plan": "free", "legacy": True}, "createdAt": user["created_at"],
    }
    # updateUser(id, {publicMetadata}) is a full replace sent as PUT /v1/users/{id}/metadata.
    assert out["updateUser"] == {"plan": "pro"}
    put = sim.request_log.find("PUT /v1/users/{user_id}/metadata")
    assert len(put) == 1 and put[0].body == {"public_metadata": {"plan": "pro"}}
    assert put[0].headers["clerk-api-version"] == "2026-05-12"
    # updateUserMetadata deep-merges via PATCH.
    assert out["updateUserMetadata"] == {
        "publicMetadata": {"plan": "pro", "seats": 3, "limits": {"requests": 50}},
        "privateMetadata": {"stripeCustomerId": "cus_123"},
    }
    assert sim.get_user(user["id"])["private_metadata"] == {"stripeCustomerId": "cus_123"}
    assert out["getUserList"] == {"ids": [user["id"]], "totalCount": 1}
    # verifyToken fetched our JWKS with the secret key, and the stale claim is still "free".
    assert out["verifyToken"]["sub"] == user["id"] and out["verifyToken"]["plan"] == "free"
    assert sim.request_log.find("GET /v1/jwks", status=200)
    assert out["verifyWithJwtKey"] == user["id"]
    assert out["expired"] == "token-expired"
    assert out["notFound"]["status"] == 404 and out["notFound"]["code"] == "resource_not_found"
    assert out["notFound"]["traceId"]


def test_clerk_js_snippet_handoff_and_get_token(node_modules: Path, clerk_server: ClerkSimServer) -> None:
    sim = clerk_server.sim
    app = "http://127.0.0.1:5173"
    sim.set_session_claims({"plan": "{{user.public_metadata.plan}}"})
    sim.create_jwt_template("tiersync", {"plan": "{{user.public_metadata.plan}}"})
    with httpx.Client(base_url=clerk_server.url) as browser:
        page = browser.post(
            "/sign-up", params={"redirect_url": f"{app}/welcome"},
            data={"emailAddress": "js+clerk_test@example.com", "password": "correct-horse-battery"},
        )
        done = browser.post(page.headers["location"], data={"code": "424242"})
    assert done.status_code == 303
    assert "__clerk_handoff" in parse_qs(urlsplit(done.headers["location"]).query)

    out = run_node(
        "clerk_js.mjs",
        {"simUrl": clerk_server.url, "appUrl": done.headers["location"], "secretKey": sim.secret_key,
         "template": "tiersync"},
    )
    [user] = sim.backend.list_users({"email_address": ["js+clerk_test@example.com"]})
    assert out["userId"] == user["id"] and out["sessionId"].startswith("sess_")
    assert out["locationAfterLoad"] == f"{app}/welcome"  # the handoff code is removed from the URL
    assert out["firstPlan"] is None  # no plan yet at sign-up
    # Like Clerk's getToken(): cached (stale) until skipCache or expiry, then fresh claims.
    assert out["cachedIsFirst"] is True and out["cachedPlan"] is None
    assert out["freshPlan"] == "pro" and out["cookieHasFresh"] is True
    assert out["templatePlan"] == "pro"
    assert out["azp"] == app
