"""Fixtures: stubbed Model Registry and SSM clients, and a helper that synthesizes the app."""

from __future__ import annotations

import datetime
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Iterable, Optional

import boto3
import botocore.endpoint
import pytest
from botocore.stub import Stubber

from batch_inference.app_builder import build_app
from batch_inference.aws_lookups import ModelRegistry, StageLocator
from batch_inference.settings import ProjectSettings, StageNetwork

DEV_ACCOUNT = "111111111111"
STAGE_ACCOUNTS = {"dev": DEV_ACCOUNT, "preprod": "222222222222", "prod": "333333333333"}
REGION = "eu-west-1"
GROUP = "my-project-p-abc123"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{DEV_ACCOUNT}:model-package/{GROUP}/3"
IMAGE_URI = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:key/00000000-1111-2222-3333-444444444444"

PROJECT = ProjectSettings(
    project_name="my-project",
    project_id="p-abc123",
    model_package_group_name=GROUP,
    artifact_bucket=f"mlops-my-project-{DEV_ACCOUNT}",
    artifact_bucket_kms_key_arn=KMS_KEY_ARN,
    region=REGION,
)


@pytest.fixture(autouse=True)
def no_aws_calls(monkeypatch):
    """Fail any test that would send a request to AWS (stubbed clients never get here)."""

    def refuse(self, operation_model, request_dict):
        raise AssertionError(f"test tried to call AWS: {operation_model.name}")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", refuse)


def fake_client(service: str):
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(service)


def stub_registry(approved: bool = True, image_uri: str = IMAGE_URI) -> tuple[ModelRegistry, Stubber]:
    """A ModelRegistry whose client answers like a group with (or without) an approved package."""
    client = fake_client("sagemaker")
    stubber = Stubber(client)
    summaries = []
    if approved:
        summaries = [
            {
                "ModelPackageGroupName": GROUP,
                "ModelPackageVersion": 3,
                "ModelPackageArn": PACKAGE_ARN,
                "CreationTime": datetime.datetime(2024, 5, 1),
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "Approved",
            }
        ]
    stubber.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": summaries},
        {
            "ModelPackageGroupName": GROUP,
            "ModelApprovalStatus": "Approved",
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 1,
        },
    )
    if approved:
        stubber.add_response(
            "describe_model_package",
            {
                "ModelPackageName": GROUP,
                "ModelPackageArn": PACKAGE_ARN,
                "CreationTime": datetime.datetime(2024, 5, 1),
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
                "InferenceSpecification": {
                    "Containers": [{"Image": image_uri, "ModelDataUrl": f"s3://{PROJECT.artifact_bucket}/m.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            },
            {"ModelPackageName": PACKAGE_ARN},
        )
    stubber.activate()
    return ModelRegistry(client), stubber


def stub_locator(
    stages: Iterable[str],
    project_name: str = PROJECT.project_name,
    missing: Iterable[str] = (),
    regions: Optional[Dict[str, str]] = None,
) -> tuple[StageLocator, Stubber]:
    """A StageLocator whose SSM client holds the account/region parameters of ``stages``
    (except those of the ``missing`` stages), in REGION unless ``regions`` names another."""
    regions = regions or {}
    client = fake_client("ssm")
    stubber = Stubber(client)
    for stage in stages:
        account_name, region_name = StageLocator.parameter_names(project_name, stage)
        if stage in missing:
            stubber.add_response(
                "get_parameters",
                {"Parameters": [], "InvalidParameters": [account_name, region_name]},
                {"Names": [account_name, region_name]},
            )
            continue
        stubber.add_response(
            "get_parameters",
            {
                "Parameters": [
                    {"Name": account_name, "Type": "String", "Value": STAGE_ACCOUNTS.get(stage, "444444444444")},
                    {"Name": region_name, "Type": "String", "Value": regions.get(stage, REGION)},
                ],
            },
            {"Names": [account_name, region_name]},
        )
    stubber.activate()
    return StageLocator(client), stubber


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


# STAGE_NETWORKS of the vpc_templates: dev by ids, preprod by SSM parameters, prod one of each.
SUBNETS = ("subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d")
SECURITY_GROUPS = ("sg-0a1b2c3d4e5f60718",)
SUBNETS_PARAMETER = "/mlops/network/subnet_ids"
SECURITY_GROUPS_PARAMETER = "/mlops/network/security_group_ids"
STAGE_NETWORKS = {
    "dev": StageNetwork(subnet_ids=SUBNETS, security_group_ids=SECURITY_GROUPS),
    "preprod": StageNetwork(subnet_ids_parameter=SUBNETS_PARAMETER, security_group_ids_parameter=SECURITY_GROUPS_PARAMETER),
    "prod": StageNetwork(subnet_ids=SUBNETS, security_group_ids_parameter=SECURITY_GROUPS_PARAMETER),
}


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
