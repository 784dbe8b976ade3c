"""The real OpenID Connect provider (tests/oidc_provider/) as a fixture: its own process, port and SQLite file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from portfolio.oidc import discovery_clear
from portfolio.settings.sso import oidc_origin
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_PASSWORD = "provider-pass-2026"
CLIENT_ID = "right-speed-portfolio"
CLIENT_SECRET = "test-client-secret-0123456789"
# The people the provider knows, and the claims it gives them.
PEOPLE = {
    "ada.cio": {"name": "Ada Lovelace", "email": "ada@example.com", "roles": ["executive"], "side": "it"},
    "noah.norole": {"name": "Noah Nobody", "email": "noah@example.com", "roles": ["auditor"], "side": "marketing"},
}


@dataclass
class Provider:
    issuer: str
    people: dict
    password: str = PROVIDER_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def oidc_provider(live_server, tmp_path, settings):
    """django-oauth-toolkit's provider on a free port, the app's OIDC_* settings pointing at it for this test."""
    try:
        import oauth2_provider  # noqa: F401
    except ImportError:
        service_missing("django-oauth-toolkit is not installed (pip install -r requirements.lock)")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/o"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_TEST_DB": str(tmp_path / "provider.sqlite3"),
        "OIDC_TEST_RSA_KEY": _rsa_key(),
        "OIDC_TEST_CLAIMS": json.dumps(PEOPLE),
        "OIDC_TEST_PASSWORD": PROVIDER_PASSWORD,
        "OIDC_TEST_CLIENT": json.dumps(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": f"{live_server.url}/oidc/callback/",
                "post_logout_redirect_uri": f"{live_server.url}/accounts/login/",
            }
        ),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        environment.pop(name, None)
    seed = subprocess.run(
        [sys.executable, "-m", "tests.oidc_provider.seed"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    if seed.returncode:
        service_missing(f"the test OIDC provider could not be set up: {seed.stderr[-2000:]}")
    log = (tmp_path / "provider.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(issuer, process, tmp_path / "provider.log")
        settings.OIDC_ISSUER = issuer
        settings.OIDC_CLIENT_ID = CLIENT_ID
        settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_PROVIDER_NAME = "Test IdP"
        csp = {**settings.SECURE_CSP}
        csp["form-action"] = [*csp["form-action"], oidc_origin(issuer)]
        settings.SECURE_CSP = csp
        discovery_clear()
        yield Provider(issuer=issuer, people=PEOPLE)
    finally:
        discovery_clear()
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_until_up(issuer: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            service_missing(f"the test OIDC provider exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    service_missing(f"the test OIDC provider did not answer within 30 s: {log.read_text()[-2000:]}")
