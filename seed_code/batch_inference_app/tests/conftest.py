"""Fixtures: stubbed Model Registry and SSM clients, and a helper that synthesizes the app."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Optional

import pytest
from botocore.stub import Stubber

from batch_inference.app_builder import build_app
from batch_inference.aws_lookups import ModelRegistry
from batch_inference.settings import ProjectSettings

from .deploy_stubs import (  # noqa: F401 (the tests import them from here)
    DEV_ACCOUNT,
    GROUP,
    IMAGE_URI,
    KMS_KEY_ARN,
    PACKAGE_ARN,
    REGION,
    SECURITY_GROUPS,
    SECURITY_GROUPS_PARAMETER,
    STAGE_ACCOUNTS,
    STAGE_NETWORKS,
    SUBNETS,
    SUBNETS_PARAMETER,
    fake_client,
    no_aws_calls,
    stub_locator,
    stub_model_registry,
)

PROJECT = ProjectSettings(
    project_name="my-project",
    project_id="p-abc123",
    model_package_group_name=GROUP,
    artifact_bucket=f"mlops-my-project-{DEV_ACCOUNT}",
    artifact_bucket_kms_key_arn=KMS_KEY_ARN,
    region=REGION,
)


def stub_registry(approved: bool = True, image_uri: str = IMAGE_URI) -> tuple[ModelRegistry, Stubber]:
    """A ModelRegistry whose client answers like a group with (or without) an approved package."""
    return stub_model_registry(ModelRegistry, f"s3://{PROJECT.artifact_bucket}/m.tar.gz", approved, image_uri)


def render(value):
    """Resolve ``{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ...]]}`` to a string (partition "aws")."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join("aws" if p == {"Ref": "AWS::Partition"} else p for p in parts)
    return value


def synth_templates(outdir: Path, project: ProjectSettings = PROJECT, config_dir: Optional[Path] = None) -> Dict[str, dict]:
    """Synthesize the app with stubbed AWS lookups; return the templates by file stem."""
    registry, registry_stub = stub_registry()
    locator, locator_stub = stub_locator(project.stages, project.project_name)
    kwargs = {"config_dir": config_dir} if config_dir else {}
    build_app(project, registry, locator, outdir=str(outdir), **kwargs).synth()
    registry_stub.assert_no_pending_responses()
    locator_stub.assert_no_pending_responses()
    return {
        path.name[: -len(".template.json")]: json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }


@pytest.fixture(scope="session")
def default_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates of the shipped config/ for dev, preprod and prod.

    CI sets SEED_BATCH_TEMPLATES_DIR so it can run cfn-lint and checkov on the same files.
    """
    outdir = os.environ.get("SEED_BATCH_TEMPLATES_DIR")
    out = Path(outdir) if outdir else tmp_path_factory.mktemp("cdk.out")
    return synth_templates(out)


@pytest.fixture(scope="session")
def vpc_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates of the shipped config/ with every stage in a VPC (STAGE_NETWORKS).

    With SEED_BATCH_TEMPLATES_DIR set, also written there as <stage>-vpc.template.json,
    for CI's cfn-lint and checkov.
    """
    out = tmp_path_factory.mktemp("cdk.out.vpc")
    project = dataclasses.replace(PROJECT, stage_networks=STAGE_NETWORKS)
    templates = synth_templates(out, project)
    outdir = os.environ.get("SEED_BATCH_TEMPLATES_DIR")
    if outdir:
        for stage in project.stages:
            shutil.copy(out / f"{stage}.template.json", Path(outdir) / f"{stage}-vpc.template.json")
    return templates
