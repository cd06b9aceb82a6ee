"""testEachStage of the deploy pipeline: the stage test role, buildspec-test.yml, and the offline
checks of the integration tests' helpers (integration_tests/ itself runs only against a stage)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import yaml
from botocore.response import StreamingBody
from botocore.stub import Stubber

from mlops_deploy.stage_roles import ROLE_PATH

from deploy_endpoint.settings import STAGE_TEST_PRINCIPAL_VARIABLE, ProjectSettings, SettingsError
from integration_tests.endpoint_checks import (
    SAMPLE_ROW,
    StageTestSetupError,
    StageUnderTest,
    parse_prediction,
    predict,
    wait_in_service,
)

from .conftest import PROJECT, STAGE_ACCOUNTS, STAGE_TEST_PRINCIPAL_ARN, fake_client

APP_DIR = Path(__file__).resolve().parents[1]


def resources(template: dict, resource_type: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def test_no_test_role_unless_the_pipeline_tests_the_stages(default_templates):
    for template in default_templates.values():
        names = [r["Properties"].get("RoleName") for r in resources(template, "AWS::IAM::Role").values()]
        assert names == [None]
        assert "StageTest" not in json.dumps(template)


def test_each_stage_gets_its_test_role(stage_test_templates):
    for stage, template in stage_test_templates.items():
        roles = {k: r["Properties"] for k, r in resources(template, "AWS::IAM::Role").items() if k.startswith("StageTestRole")}
        ((role_id, role),) = roles.items()
        assert role["RoleName"] == f"mlops-{PROJECT.project_id}-{stage}-tests"
        assert role["Path"] == ROLE_PATH == "/mlops-deployment/"
        assert role["AssumeRolePolicyDocument"] == {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": STAGE_TEST_PRINCIPAL_ARN}}
            ],
        }
        assert role["PermissionsBoundary"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{STAGE_ACCOUNTS[stage]}:policy/mlops-deployment-boundary"]]
        }
        assert "Policies" not in role and "ManagedPolicyArns" not in role
        # Nothing else grants the role anything: one policy, attached to it alone.
        attached = [
            r["Properties"] for r in resources(template, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in r["Properties"]["Roles"]
        ]
        (policy,) = attached
        assert policy["Roles"] == [{"Ref": role_id}]
        assert policy["PolicyDocument"]["Statement"] == [
            {
                "Sid": "TestEndpoint",
                "Action": ["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
                "Effect": "Allow",
                "Resource": {
                    "Fn::Join": [
                        "",
                        ["arn:", {"Ref": "AWS::Partition"}, f":sagemaker:eu-west-1:{STAGE_ACCOUNTS[stage]}:endpoint/my-project-{stage}"],
                    ]
                },
            }
        ]


def test_the_test_principal_is_read_from_the_environment_and_checked():
    env = {
        "PROJECT_NAME": "p", "PROJECT_ID": "p-1", "MODEL_PACKAGE_GROUP_NAME": "g", "ARTIFACT_BUCKET": "b",
        "ARTIFACT_BUCKET_KMS_ID": "k", "AWS_REGION": "eu-west-1",
    }
    assert ProjectSettings.from_env(env).stage_test_principal_arn is None
    assert ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: ""}).stage_test_principal_arn is None
    arn = "arn:aws-cn:iam::123456789012:role/service-role/Test-Project_Role"
    assert ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: arn}).stage_test_principal_arn == arn
    with pytest.raises(SettingsError, match="STAGE_TEST_PRINCIPAL_ARN 'my-role' is not the ARN of an IAM role"):
        ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: "my-role"})


def test_the_test_templates_differ_only_by_the_test_role(default_templates, stage_test_templates):
    for stage, template in stage_test_templates.items():
        added = set(template["Resources"]) - set(default_templates[stage]["Resources"])
        assert {resource_id.rstrip("0123456789ABCDEF") for resource_id in added} == {"StageTestRole", "StageTestPolicy"}


# --- buildspec-test.yml ------------------------------------------------------------------------


def buildspec(name: str) -> dict:
    return yaml.safe_load((APP_DIR / name).read_text())


def test_buildspec_test_assumes_the_stage_role_and_runs_the_integration_tests():
    spec = buildspec("buildspec-test.yml")
    assert spec["env"]["shell"] == "bash"
    # Same runtime and pinned requirements as the synth build.
    assert spec["phases"]["install"]["runtime-versions"]["python"] == buildspec("buildspec.yml")["phases"]["install"]["runtime-versions"]["python"]
    assert spec["phases"]["install"]["commands"] == ["pip install --quiet -r requirements-dev.txt"]
    (script,) = spec["phases"]["build"]["commands"]
    assert 'aws sts assume-role --role-arn "$STAGE_TEST_ROLE_ARN"' in script
    assert "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN" in script
    assert 'AWS_REGION="$STAGE_REGION"' in script
    assert script.strip().splitlines()[-1] == "python -m pytest -q -p no:cacheprovider integration_tests"
    # Never longer than the role allows (MaxSessionDuration 1 hour).
    assert re.search(r"--duration-seconds 3600\b", script)


def test_unit_tests_do_not_collect_the_integration_tests():
    pyproject = (APP_DIR / "pyproject.toml").read_text()
    assert 'testpaths = ["tests"]' in pyproject
    assert (APP_DIR / "integration_tests" / "test_endpoint.py").is_file()


# --- integration_tests/endpoint_checks.py, offline -------------------------------------------------


def test_the_stage_under_test_comes_from_the_pipeline_variables():
    stage = StageUnderTest.from_env({"PROJECT_NAME": "my-project", "STAGE_NAME": "preprod", "STAGE_REGION": "eu-west-1"})
    assert stage.endpoint_name == "my-project-preprod"
    assert stage.region == "eu-west-1"
    with pytest.raises(StageTestSetupError, match="Missing environment variables: STAGE_NAME, STAGE_REGION"):
        StageUnderTest.from_env({"PROJECT_NAME": "my-project"})


def describe_endpoint_response(status: str) -> dict:
    import datetime

    return {
        "EndpointName": "my-project-dev",
        "EndpointArn": "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/my-project-dev",
        "EndpointConfigName": "c",
        "EndpointStatus": status,
        "CreationTime": datetime.datetime(2024, 5, 1),
        "LastModifiedTime": datetime.datetime(2024, 5, 1),
    }


def test_wait_in_service_polls_while_the_endpoint_updates():
    client = fake_client("sagemaker")
    with Stubber(client) as stubber:
        for status in ("Updating", "Updating", "InService"):
            stubber.add_response("describe_endpoint", describe_endpoint_response(status), {"EndpointName": "my-project-dev"})
        sleeps = []
        assert wait_in_service(client, "my-project-dev", sleep=sleeps.append) == "InService"
        assert sleeps == [30, 30]
        stubber.assert_no_pending_responses()


def test_wait_in_service_returns_a_failed_status_and_gives_up_after_the_timeout():
    client = fake_client("sagemaker")
    with Stubber(client) as stubber:
        stubber.add_response("describe_endpoint", describe_endpoint_response("Failed"), {"EndpointName": "e"})
        assert wait_in_service(client, "e", sleep=lambda s: None) == "Failed"
        for _ in range(3):
            stubber.add_response("describe_endpoint", describe_endpoint_response("Creating"), {"EndpointName": "e"})
        assert wait_in_service(client, "e", timeout_seconds=60, poll_seconds=30, sleep=lambda s: None) == "Creating"
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("body, expected", [(b"7.5", 7.5), (b"7.5\n", 7.5), (b"[9.25]", 9.25), (b"8.1,7.2\n", 8.1)])
def test_parse_prediction(body, expected):
    assert parse_prediction(body) == expected


def test_parse_prediction_rejects_other_answers():
    with pytest.raises(ValueError, match="did not answer with a number"):
        parse_prediction(b'{"error": "bad input"}')


def test_predict_sends_one_csv_row_of_the_build_apps_features():
    # 7 scaled measurements and 3 one-hot columns for sex (seed_code/shared/build preprocess.py).
    assert len(SAMPLE_ROW.split(",")) == 10
    assert all(float(value) == float(value) for value in SAMPLE_ROW.split(","))
    client = fake_client("sagemaker-runtime")
    with Stubber(client) as stubber:
        stubber.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(b"10.4"), 4), "ContentType": "text/csv"},
            {"EndpointName": "my-project-dev", "ContentType": "text/csv", "Accept": "text/csv", "Body": SAMPLE_ROW.encode()},
        )
        assert predict(client, "my-project-dev") == 10.4
        stubber.assert_no_pending_responses()


def test_the_integration_tests_use_the_test_role_permissions_only():
    # The role may DescribeEndpoint and InvokeEndpoint; the tests call nothing else.
    source = (APP_DIR / "integration_tests" / "test_endpoint.py").read_text() + (
        APP_DIR / "integration_tests" / "endpoint_checks.py"
    ).read_text()
    calls = set(re.findall(r"client\.(\w+)\(", source))
    assert calls == {"describe_endpoint", "invoke_endpoint"}
