"""Synthesize the deploy app with the model registry and SSM stubbed, and check the templates."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from deploy_endpoint.app_builder import build_app
from deploy_endpoint.aws_lookups import NoApprovedModelError

from .conftest import (
    GROUP,
    KMS_KEY_ARN,
    PACKAGE_ARN,
    PROJECT,
    STAGE_ACCOUNTS,
    render,
    stub_locator,
    stub_registry,
)

APP_DIR = Path(__file__).resolve().parents[1]


def resources(template: dict, resource_type: str) -> list:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def only(template: dict, resource_type: str) -> dict:
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def test_one_self_contained_template_per_stage(default_templates):
    assert sorted(default_templates) == ["dev", "preprod", "prod"]
    for template in default_templates.values():
        # CloudFormation deploys these directly: nothing may need CDK bootstrap or assets.
        assert "Rules" not in template
        assert "BootstrapVersion" not in template.get("Parameters", {})
        assert not any(r["Type"] == "AWS::CDK::Metadata" for r in template["Resources"].values())
        assert "cdk-hnb659fds-assets" not in json.dumps(template)


def test_each_stage_deploys_the_approved_package(default_templates):
    for stage, template in default_templates.items():
        model = only(template, "AWS::SageMaker::Model")
        assert model["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}
        # The deploy pipeline's checkov scan fails a model without network isolation.
        assert model["EnableNetworkIsolation"] is True
        endpoint = only(template, "AWS::SageMaker::Endpoint")
        assert endpoint["EndpointName"] == f"my-project-{stage}"
        tags = {t["Key"]: t["Value"] for t in endpoint["Tags"]}
        assert tags == {
            "sagemaker:project-name": "my-project",
            "sagemaker:project-id": "p-abc123",
            "sagemaker:deployment-stage": stage,
        }


def test_stage_settings_come_from_the_yaml_files(default_templates):
    variants = {
        stage: only(t, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
        for stage, t in default_templates.items()
    }
    for stage, expected_count in {"dev": 1, "preprod": 1, "prod": 2}.items():
        (variant,) = variants[stage]
        assert variant["VariantName"] == "AllTraffic"
        assert variant["InstanceType"] == "ml.m5.large"
        assert variant["InitialInstanceCount"] == expected_count
        assert variant["InitialVariantWeight"] == 1.0


def test_data_capture_per_stage(default_templates):
    configs = {s: only(t, "AWS::SageMaker::EndpointConfig") for s, t in default_templates.items()}
    assert "DataCaptureConfig" not in configs["dev"]
    prod = configs["prod"]["DataCaptureConfig"]
    assert prod["EnableCapture"] is True
    assert prod["InitialSamplingPercentage"] == 20
    assert prod["DestinationS3Uri"] == f"s3://{PROJECT.artifact_bucket}/datacapture/my-project-prod"
    assert prod["KmsKeyId"] == KMS_KEY_ARN
    assert configs["preprod"]["DataCaptureConfig"]["InitialSamplingPercentage"] == 100


def test_autoscaling_only_where_configured(default_templates):
    for stage in ("dev", "preprod"):
        assert resources(default_templates[stage], "AWS::ApplicationAutoScaling::ScalableTarget") == []
    prod = default_templates["prod"]
    target = only(prod, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    endpoint_id = next(k for k, r in prod["Resources"].items() if r["Type"] == "AWS::SageMaker::Endpoint")
    assert target["ResourceId"] == {
        "Fn::Join": ["", ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/variant/AllTraffic"]]
    }
    policy = only(prod, "AWS::ApplicationAutoScaling::ScalingPolicy")["TargetTrackingScalingPolicyConfiguration"]
    assert policy["TargetValue"] == 750
    assert policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"



def policy_statements(template: dict) -> dict:
    (policy,) = resources(template, "AWS::IAM::Policy")
    return {s["Sid"]: {**s, "Resource": render(s["Resource"])} for s in policy["PolicyDocument"]["Statement"]}


def test_execution_role_is_scoped_to_the_project(default_templates):
    bucket_arn = f"arn:aws:s3:::{PROJECT.artifact_bucket}"
    dev = policy_statements(default_templates["dev"])
    assert dev["ReadModelArtifacts"]["Resource"] == f"{bucket_arn}/*"
    assert dev["ListArtifactBucket"]["Resource"] == bucket_arn
    assert dev["UseArtifactKey"]["Resource"] == KMS_KEY_ARN
    assert dev["PullModelImage"]["Resource"] == "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
    assert dev["WriteEndpointLogs"]["Resource"][0] == (
        f"arn:aws:logs:eu-west-1:{STAGE_ACCOUNTS['dev']}:log-group:/aws/sagemaker/Endpoints/my-project-dev"
    )
    # Only the ECR login token, which has no resource, may use "*".
    for template in default_templates.values():
        wildcards = [sid for sid, s in policy_statements(template).items() if s["Resource"] == "*"]
        assert wildcards == ["EcrLogin"]
    # Writing is allowed only where data capture is on, and only under its prefix.
    assert "WriteDataCapture" not in dev
    prod = policy_statements(default_templates["prod"])
    assert prod["WriteDataCapture"]["Resource"] == f"{bucket_arn}/datacapture/my-project-prod/*"
    assert "kms:GenerateDataKey" in prod["UseArtifactKey"]["Action"]
    role = only(default_templates["dev"], "AWS::IAM::Role")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_model_waits_for_its_role_policy(default_templates):
    template = default_templates["dev"]
    model = next(r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model")
    policy_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy")
    assert policy_id in model["DependsOn"]


def test_stage_without_yaml_is_a_clear_error(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev", "qa"))
    registry, _ = stub_registry()
    locator, _ = stub_locator(project.stages)
    with pytest.raises(Exception, match="No settings for stage 'qa': create qa.yml"):
        build_app(project, registry, locator, outdir=str(tmp_path))


def test_no_approved_model_stops_with_what_to_do(tmp_path):
    registry, stubber = stub_registry(approved=False)
    locator, _ = stub_locator([])
    with pytest.raises(NoApprovedModelError) as raised:
        build_app(PROJECT, registry, locator, outdir=str(tmp_path))
    message = str(raised.value)
    assert f"No approved model package in model package group '{GROUP}'" in message
    assert "SageMaker Studio" in message
    assert "aws sagemaker update-model-package" in message
    stubber.assert_no_pending_responses()
    assert list(tmp_path.glob("*.template.json")) == []


class StubbedSession:
    """Stands in for boto3.Session in app.py, handing out stubbed clients."""

    def __init__(self, approved: bool):
        self.clients = {"sagemaker": stub_registry(approved)[0]._sagemaker, "ssm": stub_locator(PROJECT.stages)[0]._ssm}

    def client(self, service):
        return self.clients[service]



def test_app_main_exits_non_zero_without_approved_model(project_env, monkeypatch, capsys):
    import app

    session = StubbedSession(approved=False)
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    assert app.main() == 1
    assert "ERROR: No approved model package in model package group" in capsys.readouterr().err


def test_app_main_writes_templates(project_env, monkeypatch, tmp_path):
    import app

    session = StubbedSession(approved=True)
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    assert app.main(outdir=str(tmp_path)) == 0
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [
        "dev.template.json",
        "preprod.template.json",
        "prod.template.json",
    ]
