"""What the tests of the deploy apps share: the project's names and accounts, stage networks, and
boto3 clients of the Model Registry and SSM stubbed with botocore's ``Stubber`` (no request leaves
the machine). Each app's ``tests/conftest.py`` imports them, with its own ProjectSettings."""

from __future__ import annotations

import datetime
from typing import Dict, Iterable, Optional, Type

import boto3
import botocore.endpoint
import pytest
from botocore.stub import Stubber

from mlops_deploy.aws_lookups import ModelRegistry, StageLocator
from mlops_deploy.networks import StageNetwork

DEV_ACCOUNT = "111111111111"
STAGE_ACCOUNTS = {"dev": DEV_ACCOUNT, "preprod": "222222222222", "prod": "333333333333"}
REGION = "eu-west-1"
PROJECT_NAME = "my-project"
GROUP = "my-project-p-abc123"
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{DEV_ACCOUNT}:model-package/{GROUP}/3"
IMAGE_URI = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{DEV_ACCOUNT}:key/00000000-1111-2222-3333-444444444444"
ARTIFACT_BUCKET = f"mlops-my-project-{DEV_ACCOUNT}"

# The environment of the deploy pipeline's CodeBuild project, its required variables only.
ENV = {
    "PROJECT_NAME": "my-project",
    "PROJECT_ID": "p-abc123",
    "MODEL_PACKAGE_GROUP_NAME": "my-project-p-abc123",
    "ARTIFACT_BUCKET": "mlops-my-project-111111111111",
    "ARTIFACT_BUCKET_KMS_ID": "arn:aws:kms:eu-west-1:111111111111:key/k",
    "AWS_REGION": "eu-west-1",
}

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


def stub_model_registry(
    registry: Type[ModelRegistry],
    model_data_url: str,
    approved: bool = True,
    image_uri: str = IMAGE_URI,
    package_extra: Optional[dict] = None,
) -> tuple[ModelRegistry, Stubber]:
    """A ``registry`` (the app's ModelRegistry) whose client answers like a group with (or without)
    an approved package of ``image_uri`` and ``model_data_url``.

    ``package_extra``: more fields of the package's description (e.g. its DriftCheckBaselines).
    """
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
                    "Containers": [{"Image": image_uri, "ModelDataUrl": model_data_url}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                **(package_extra or {}),
            },
            {"ModelPackageName": PACKAGE_ARN},
        )
    stubber.activate()
    return registry(client), stubber


def stub_locator(
    stages: Iterable[str],
    project_name: str = PROJECT_NAME,
    missing: Iterable[str] = (),
    regions: Optional[Dict[str, str]] = None,
) -> tuple[StageLocator, Stubber]:
    """A StageLocator whose SSM client holds the account/region parameters of ``stages``
    (except those of the ``missing`` stages); every stage in REGION unless ``regions`` says otherwise."""
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
    """Resolve the partition in ``{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ...]]}`` to "aws"."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join("aws" if p == {"Ref": "AWS::Partition"} else p for p in parts)
    return value


def synth_environment(project) -> Dict[str, str]:
    """The variables the deploy pipeline's synth build sets for ``project`` (an app's ProjectSettings)."""
    return {
        "PROJECT_NAME": project.project_name,
        "PROJECT_ID": project.project_id,
        "MODEL_PACKAGE_GROUP_NAME": project.model_package_group_name,
        "ARTIFACT_BUCKET": project.artifact_bucket,
        "ARTIFACT_BUCKET_KMS_ID": project.artifact_bucket_kms_key_arn,
        "AWS_REGION": project.region,
        "DEPLOYMENT_STAGES": ",".join(project.stages),
    }
