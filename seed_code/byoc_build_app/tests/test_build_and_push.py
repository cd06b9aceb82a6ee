"""Run scripts/build_and_push.sh with fake `aws` and `docker` commands and check what it does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_and_push.sh"
REPO = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/my-project"


@pytest.fixture
def fake_tools(tmp_path) -> Path:
    """A bin folder whose aws and docker only log their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "aws": 'echo "aws $*" >> "$CALLS"\necho token\n',
        # Like the real `docker login --password-stdin`, read the piped token.
        "docker": 'echo "docker $*" >> "$CALLS"\ncase "$*" in *--password-stdin*) cat > /dev/null ;; esac\n',
    }
    for tool, body in scripts.items():
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\n{body}exit 0\n")
        path.chmod(0o755)
    return bin_dir


def run(fake_tools: Path, env: dict, *args: str) -> tuple[subprocess.CompletedProcess, list]:
    calls = fake_tools / "calls.log"
    full_env = {"PATH": f"{fake_tools}:/usr/bin:/bin", "CALLS": str(calls), **env}
    result = subprocess.run(["bash", str(SCRIPT), *args], env=full_env, capture_output=True, text=True, timeout=60)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, lines


def test_builds_and_pushes_commit_and_latest_tags(fake_tools):
    result, calls = run(fake_tools, {"ECR_REPO_URI": REPO, "CODEBUILD_RESOLVED_SOURCE_VERSION": "abc123"})
    assert result.returncode == 0, result.stderr
    context = str(SCRIPT.parents[1] / "container")
    # The two sides of `aws ... | docker login` run at once, so they may log in either order.
    assert sorted(calls[:2]) == [
        "aws ecr get-login-password --region eu-west-1",
        "docker login --username AWS --password-stdin 111111111111.dkr.ecr.eu-west-1.amazonaws.com",
    ]
    assert calls[2:] == [
        f"docker build --tag {REPO}:abc123 --tag {REPO}:latest {context}",
        f"docker push {REPO}:abc123",
        f"docker push {REPO}:latest",
    ]


def test_explicit_tag_and_region(fake_tools):
    result, calls = run(fake_tools, {"ECR_REPO_URI": REPO, "AWS_REGION": "us-west-2"}, "v1")
    assert result.returncode == 0, result.stderr
    assert "aws ecr get-login-password --region us-west-2" in calls[:2]
    assert f"docker push {REPO}:v1" in calls


def test_requires_ecr_repo_uri(fake_tools):
    result, calls = run(fake_tools, {})
    assert result.returncode != 0
    assert "Set ECR_REPO_URI" in result.stderr
    assert calls == []
