"""Server mode entry points: ``serve()``, ``info()``, the publishable key and the CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tiersync.clerk_sim import ClerkSim, ClerkSimServer

REPO = Path(__file__).resolve().parents[2]


def test_info_and_publishable_key_follow_the_served_address(clerk_server: ClerkSimServer) -> None:
    info = clerk_server.sim.info()
    assert info["base_url"] == clerk_server.url and info["api_url"] == f"{clerk_server.url}/v1"
    pk = info["publishable_key"]
    assert pk.startswith("pk_test_")
    assert base64.b64decode(pk.removeprefix("pk_test_")).decode() == f"127.0.0.1:{clerk_server.port}$"
    assert httpx.get(f"{clerk_server.url}/_sim/info").json()["secret_key"] == clerk_server.sim.secret_key
    with clerk_server.sdk_client() as clerk:
        assert clerk.users.list(request={}) == []


def test_two_instances_have_separate_keys_and_state() -> None:
    a, b = ClerkSim(), ClerkSim(secret_key="sk_test_second_instance")
    a.create_user("only-in-a@example.com")
    with a.serve() as sa, b.serve() as sb:
        assert sa.port != sb.port
        auth_b = {"Authorization": "Bearer sk_test_second_instance"}
        assert httpx.get(f"{sb.api_url}/users", headers=auth_b).json() == []
        assert httpx.get(f"{sa.api_url}/users", headers=auth_b).status_code == 401


def test_cli_prints_json_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tiersync.clerk_sim", "--port", "0", "--json"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())["clerk"]
        assert info["base_url"].startswith("http://127.0.0.1:") and not info["base_url"].endswith(":0")
        jwks = httpx.get(info["frontend_jwks_url"], timeout=5).json()
        assert jwks["keys"][0]["alg"] == "RS256"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
