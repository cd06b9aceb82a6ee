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
from batch_inference.stage_config import CONFIG_DIR

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


# The approved package's model data, in the project's artifact bucket.
MODEL_DATA_URL = f"s3://{PROJECT.artifact_bucket}/m.tar.gz"


def stub_registry(
    approved: bool = True, image_uri: str = IMAGE_URI, package_extra: Optional[dict] = None
) -> tuple[ModelRegistry, Stubber]:
    """A ModelRegistry whose client answers like a group with (or without) an approved package.

    ``package_extra``: more fields of the package's description (e.g. its InferenceSpecification).
    """
    return stub_model_registry(ModelRegistry, MODEL_DATA_URL, approved, image_uri, package_extra)



def synth_templates(
    outdir: Path,
    project: ProjectSettings = PROJECT,
    config_dir: Optional[Path] = None,
    regions: Optional[Dict[str, str]] = None,
    package_extra: Optional[dict] = None,
) -> Dict[str, dict]:
    """Synthesize the app with stubbed AWS lookups; return the templates by file stem.

    ``regions``: the stages in another region than the project's (REGION), and their region;
    ``package_extra``: more fields of the approved package's description.
    """
    registry, registry_stub = stub_registry(package_extra=package_extra)
    locator, locator_stub = stub_locator(project.stages, project.project_name, regions=regions)
    kwargs = {"config_dir": config_dir} if config_dir else {}
    build_app(project, registry, locator, outdir=str(outdir), **kwargs).synth()
    registry_stub.assert_no_pending_responses()
    locator_stub.assert_no_pending_responses()
    return {
        path.name[: -len(".template.json")]: json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }


@pytest.fixture
def project_env(monkeypatch):
    """The environment of the deploy pipeline's synth build, for app.main()."""
    for name, value in synth_environment(PROJECT).items():
        monkeypatch.setenv(name, value)


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


# --- Stages in another region than the project's ------------------------------------------------

OTHER_REGION = "us-east-1"
# A key of the PREPROD account in OTHER_REGION, which PREPROD's YAML names as its kms_key_arn.
STAGE_KEY_ARN = f"arn:aws:kms:{OTHER_REGION}:{STAGE_ACCOUNTS['preprod']}:key/mrk-0123456789abcdef0123456789abcdef"
# What the shipped YAML of a stage in another region must add: its input and output in that region
# (in mlops-* buckets, output under batch/: what the default boundary of the target accounts allows).
OTHER_REGION_SETTINGS = {
    "preprod": {
        "input_s3_uri": "s3://mlops-scoring-preprod-us-east-1/batch/input/",
        "output_s3_uri": "s3://mlops-scoring-preprod-us-east-1/batch/output/",
        "kms_key_arn": STAGE_KEY_ARN,
    },
    "prod": {
        "input_s3_uri": "s3://mlops-scoring-prod-us-east-1/batch/input/",
        "output_s3_uri": "s3://mlops-scoring-prod-us-east-1/batch/output/",
    },
}


@dataclasses.dataclass(frozen=True)
class Synthesized:
    """A synth's output folder, its templates and its asset manifests (``<stage>.assets.json``), by stage."""

    out: Path
    templates: Dict[str, dict]
    assets: Dict[str, dict]


def other_region_config(directory: Path) -> Path:
    """The shipped config/, with what OTHER_REGION_SETTINGS adds to the YAML of its stages."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in CONFIG_DIR.glob("*.yml"):
        extra = "".join(f"{name}: {value}\n" for name, value in OTHER_REGION_SETTINGS.get(path.stem, {}).items())
        (directory / path.name).write_text(path.read_text() + extra)
    return directory


@pytest.fixture(scope="session")
def other_region(tmp_path_factory) -> Synthesized:
    """The shipped config/ with PREPROD (with its own kms_key_arn) and PROD in OTHER_REGION, DEV in the
    project's region.

    With SEED_BATCH_TEMPLATES_DIR set, PREPROD's and PROD's templates and asset manifests are also
    written there as <stage>-other-region.template.json and <stage>-other-region.assets.json (whose
    template entry names that file), for CI's cfn-lint, checkov and cdk-assets.
    """
    root = tmp_path_factory.mktemp("other-region")
    out = root / "cdk.out"
    regions = {stage: OTHER_REGION for stage in OTHER_REGION_SETTINGS}
    templates = synth_templates(out, PROJECT, other_region_config(root / "config"), regions=regions)
    assets = {path.name[: -len(".assets.json")]: json.loads(path.read_text()) for path in out.glob("*.assets.json")}
    scanned = os.environ.get("SEED_BATCH_TEMPLATES_DIR")
    if scanned:
        for stage in OTHER_REGION_SETTINGS:
            name = f"{stage}-other-region"
            shutil.copy(out / f"{stage}.template.json", Path(scanned) / f"{name}.template.json")
            manifest = json.loads((out / f"{stage}.assets.json").read_text())
            for asset in manifest["files"].values():
                if asset["source"].get("path") == f"{stage}.template.json":
                    asset["source"]["path"] = f"{name}.template.json"
            (Path(scanned) / f"{name}.assets.json").write_text(json.dumps(manifest, indent=2))
    return Synthesized(out=out, templates=templates, assets=assets)
