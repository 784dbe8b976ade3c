"""No secret in the repository: keys, tokens and key files stay out; settings read them from the environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]

# High-signal shapes of real credentials (the same ones secret scanners look for).
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Django secret key literal": re.compile(r"""\bSECRET_KEY\s*=\s*["'](?!insecure-)[^"']{30,}["']"""),
}
KEY_FILES = re.compile(r"(^|/)(\.env(?!\.example$)(\..+)?|id_rsa|id_ed25519|.+\.pem|.+\.key|.+\.p12|.+\.pfx)$")


def repository_files() -> list[str]:
    """Tracked files and new files git would add (ignored ones, like .venv, excluded)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        service_missing("git, or a git checkout to list the files of, is missing")
    return [name for name in listing.stdout.splitlines() if (ROOT / name).is_file()]


def test_no_credential_is_committed():
    found = []
    for name in repository_files():
        if name.startswith("tests/security/"):  # this file spells the patterns out
            continue
        try:
            text = (ROOT / name).read_text(errors="strict")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        found += [f"{name}: {kind}" for kind, shape in SECRET_SHAPES.items() if shape.search(text)]
    assert found == []


def test_no_key_or_environment_file_is_committed():
    assert [name for name in repository_files() if KEY_FILES.search(name)] == []


def test_settings_take_secrets_from_the_environment():
    settings_text = (ROOT / "portfolio/settings/base.py").read_text()
    assert 'SECRET_KEY = env("SECRET_KEY"' in settings_text
    assert 'env.db("DATABASE_URL"' in settings_text


@pytest.mark.parametrize(
    "sample",
    [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "ghp_" + "a" * 36,
        'SECRET_KEY = "' + "x" * 40 + '"',
    ],
)
def test_the_scan_recognises_credentials(sample):
    assert any(shape.search(sample) for shape in SECRET_SHAPES.values())


def test_the_environment_example_holds_no_secret():
    """`.env.example` (compose.yaml's template) is committed: every secret in it is left empty."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    assert values["SECRET_KEY"] == ""
    assert values["POSTGRES_PASSWORD"] == ""
    assert ":@" in values["DATABASE_URL"]  # no password in the example URL either
