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

from deploy_endpoint.app_builder import build_app
from deploy_endpoint.aws_lookups import ModelRegistry
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import CONFIG_DIR

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
    render,
    stub_locator,
    stub_model_registry,
    synth_environment,
)

PROJECT = ProjectSettings(
    project_name="my-project",
    project_id="p-abc123",
    model_package_group_name=GROUP,
    artifact_bucket=f"mlops-my-project-{DEV_ACCOUNT}",
    artifact_bucket_kms_key_arn=KMS_KEY_ARN,
    region=REGION,
)

# The data-quality baseline the model build registers with MODEL_MONITORING=true (DriftCheckBaselines
# and ModelMetrics of the package).
BASELINE_PREFIX = f"s3://{PROJECT.artifact_bucket}/my-project-pipeline/data-quality-baseline/execution-1"
STATISTICS_URI = f"{BASELINE_PREFIX}/statistics.json"
CONSTRAINTS_URI = f"{BASELINE_PREFIX}/constraints.json"
BASELINE = {
    "ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": STATISTICS_URI},
        "Constraints": {"ContentType": "application/json", "S3Uri": CONSTRAINTS_URI},
    }
}


class StubbedRegistryModel:
    """What the stubbed registry's approved package holds besides its ARN and image."""

    MODEL_DATA_URL = f"s3://{PROJECT.artifact_bucket}/my-project-pipeline/train/model.tar.gz"


def stub_registry(
    approved: bool = True, image_uri: str = IMAGE_URI, package_extra: Optional[dict] = None
) -> tuple[ModelRegistry, Stubber]:
    """A ModelRegistry whose client answers like a group with (or without) an approved package.

    ``package_extra``: more fields of the package's description (e.g. its DriftCheckBaselines).
    """
    return stub_model_registry(ModelRegistry, StubbedRegistryModel.MODEL_DATA_URL, approved, image_uri, package_extra)


def synth_templates(
    outdir: Path,
    project: ProjectSettings = PROJECT,
    config_dir: Optional[Path] = None,
    package_extra: Optional[dict] = None,
    regions: Optional[Dict[str, str]] = None,
) -> Dict[str, dict]:
    """Synthesize the app with stubbed AWS lookups; return the templates of the stages by stage."""
    registry, registry_stub = stub_registry(package_extra=package_extra)
    locator, locator_stub = stub_locator(project.stages, regions=regions)
    kwargs = {"config_dir": config_dir} if config_dir else {}
    build_app(project, registry, locator, outdir=str(outdir), **kwargs).synth()
    registry_stub.assert_no_pending_responses()
    locator_stub.assert_no_pending_responses()
    return {stage: json.loads((outdir / f"{stage}.template.json").read_text()) for stage in project.stages}


@pytest.fixture(scope="session")
def default_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates of the shipped config/ for dev, preprod and prod.

    CI sets SEED_DEPLOY_TEMPLATES_DIR so it can run cfn-lint on the same files.
    """
    outdir = os.environ.get("SEED_DEPLOY_TEMPLATES_DIR")
    out = Path(outdir) if outdir else tmp_path_factory.mktemp("cdk.out")
    return synth_templates(out)


def monitoring_config_dir(tmp_path_factory) -> Path:
    """The shipped config/ with data capture on in dev too (the shipped dev.yml captures nothing)."""
    config_dir = tmp_path_factory.mktemp("config")
    for path in CONFIG_DIR.glob("*.yml"):
        shutil.copy(path, config_dir / path.name)
    dev = config_dir / "dev.yml"
    dev.write_text(dev.read_text().replace("  enabled: false ", "  enabled: true  ", 1))
    return config_dir


@pytest.fixture(scope="session")
def monitoring_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates with MODEL_MONITORING=true, of a package with a baseline, for every stage:
    the shipped config/ with data capture on in dev too (the shipped dev.yml captures nothing).

    With SEED_DEPLOY_TEMPLATES_DIR set, also written there as <stage>-monitoring.template.json,
    for CI's cfn-lint and checkov.
    """
    config_dir = monitoring_config_dir(tmp_path_factory)
    out = tmp_path_factory.mktemp("cdk.out.monitoring")
    project = dataclasses.replace(PROJECT, model_monitoring=True)
    templates = synth_templates(out, project, config_dir=config_dir, package_extra={"DriftCheckBaselines": BASELINE, "ModelMetrics": BASELINE})
    outdir = os.environ.get("SEED_DEPLOY_TEMPLATES_DIR")
    if outdir:
        for stage in project.stages:
            shutil.copy(out / f"{stage}.template.json", Path(outdir) / f"{stage}-monitoring.template.json")
    return templates


# The role of the deploy pipeline's stage test project (testEachStage), in the tooling account.
STAGE_TEST_PRINCIPAL_ARN = f"arn:aws:iam::{DEV_ACCOUNT}:role/my-project-deploy-StageTestProjectRole-ABC123"


@pytest.fixture(scope="session")
def stage_test_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates with STAGE_TEST_PRINCIPAL_ARN set (the pipeline's testEachStage), with the
    permissions boundary the target accounts require.

    With SEED_DEPLOY_TEMPLATES_DIR set, also written there as <stage>-tests.template.json,
    for CI's cfn-lint and checkov.
    """
    out = tmp_path_factory.mktemp("cdk.out.tests")
    project = dataclasses.replace(
        PROJECT, stage_test_principal_arn=STAGE_TEST_PRINCIPAL_ARN, role_permissions_boundary="mlops-deployment-boundary"
    )
    templates = synth_templates(out, project)
    outdir = os.environ.get("SEED_DEPLOY_TEMPLATES_DIR")
    if outdir:
        for stage in project.stages:
            shutil.copy(out / f"{stage}.template.json", Path(outdir) / f"{stage}-tests.template.json")
    return templates


@pytest.fixture(scope="session")
def vpc_templates(tmp_path_factory) -> Dict[str, dict]:
    """The templates with every stage in a VPC (STAGE_NETWORKS) and monitored (as monitoring_templates).

    With SEED_DEPLOY_TEMPLATES_DIR set, also written there as <stage>-vpc.template.json,
    for CI's cfn-lint and checkov.
    """
    config_dir = monitoring_config_dir(tmp_path_factory)
    out = tmp_path_factory.mktemp("cdk.out.vpc")
    project = dataclasses.replace(PROJECT, model_monitoring=True, stage_networks=STAGE_NETWORKS)
    templates = synth_templates(out, project, config_dir=config_dir, package_extra={"DriftCheckBaselines": BASELINE, "ModelMetrics": BASELINE})
    outdir = os.environ.get("SEED_DEPLOY_TEMPLATES_DIR")
    if outdir:
        for stage in project.stages:
            shutil.copy(out / f"{stage}.template.json", Path(outdir) / f"{stage}-vpc.template.json")
    return templates


@pytest.fixture
def project_env(monkeypatch):
    """The environment of the deploy pipeline's synth build, for app.main()."""
    for name, value in synth_environment(PROJECT).items():
        monkeypatch.setenv(name, value)
