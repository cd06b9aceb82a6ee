"""The deploy pipeline's stage tests: the test role (only with STAGE_TEST_PRINCIPAL_ARN), the
buildspec-test.yml contract, and the integration test's helpers, offline with stubbed SageMaker."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from botocore.stub import Stubber

from mlops_deploy import stage_roles

from batch_inference.settings import STAGE_TEST_PRINCIPAL_VARIABLE, ProjectSettings, SettingsError
from integration_tests import stage_checks
from integration_tests.stage_checks import StageEnvironmentError, StageUnderTest, check_stage, pipeline_problems

from .conftest import PROJECT, REGION, STAGE_ACCOUNTS, fake_client, synth_templates
from .test_target_accounts import ALLOWED

APP_DIR = Path(__file__).resolve().parents[1]
TEST_PRINCIPAL = "arn:aws:iam::111111111111:role/mlops-my-project-deploy-StageTestProjectRole1A2B3C-XYZ"
TESTED_PROJECT = dataclasses.replace(PROJECT, stage_test_principal_arn=TEST_PRINCIPAL)


def roles(template: dict) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def stage_test_role(template: dict):
    found = [r for r in roles(template).values() if r["Properties"].get("RoleName", "").endswith("-tests")]
    return found[0] if found else None


@pytest.fixture(scope="module")
def tested_templates(tmp_path_factory):
    """The templates with stage tests on. CI scans them too (cfn-lint, checkov) under another name."""
    out = tmp_path_factory.mktemp("tested")
    templates = synth_templates(out, TESTED_PROJECT)
    scanned = os.environ.get("SEED_BATCH_TEMPLATES_DIR")
    if scanned:
        for stage in templates:
            shutil.copy(out / f"{stage}.template.json", Path(scanned) / f"{stage}-with-stage-tests.template.json")
    return templates


def test_no_test_role_without_the_variable(default_templates):
    for template in default_templates.values():
        assert stage_test_role(template) is None
        assert len(roles(template)) == 3


def test_each_stage_gets_its_test_role_named_as_the_pipeline_expects(tested_templates):
    assert sorted(tested_templates) == ["dev", "preprod", "prod"]
    for stage, template in tested_templates.items():
        assert len(roles(template)) == 4
        props = stage_test_role(template)["Properties"]
        assert props["RoleName"] == f"mlops-p-abc123-{stage}-tests"
        assert props["Path"] == "/mlops-deployment/"
        assert "ManagedPolicyArns" not in props and "Policies" not in props
        assert "PermissionsBoundary" not in props


def test_the_test_role_trusts_only_the_pipeline_test_build(tested_templates):
    for template in tested_templates.values():
        assert stage_test_role(template)["Properties"]["AssumeRolePolicyDocument"] == {
            "Version": "2012-10-17",
            "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": TEST_PRINCIPAL}}],
        }


def test_the_test_role_may_only_read_the_stage_pipeline(tested_templates):
    for stage, template in tested_templates.items():
        logical_id = next(k for k, r in roles(template).items() if r is stage_test_role(template))
        policies = [
            r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": logical_id}]
        ]
        assert len(policies) == 1
        assert policies[0]["PolicyDocument"]["Statement"] == [
            {
                "Sid": "ReadBatchPipeline",
                "Action": ["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions"],
                "Effect": "Allow",
                "Resource": {
                    "Fn::Join": ["", [
                        "arn:", {"Ref": "AWS::Partition"},
                        f":sagemaker:{REGION}:{STAGE_ACCOUNTS[stage]}:pipeline/my-project-{stage}-batch",
                    ]]
                },
            }
        ]
        # The permissions boundary of the target accounts must allow them (target_account_permissions.json).
        assert set(policies[0]["PolicyDocument"]["Statement"][0]["Action"]) <= set(ALLOWED["stageTestRoleActions"])


def test_the_test_role_gets_the_permissions_boundary(tmp_path):
    project = dataclasses.replace(TESTED_PROJECT, role_permissions_boundary="mlops-boundary")
    for stage, template in synth_templates(tmp_path, project).items():
        assert stage_test_role(template)["Properties"]["PermissionsBoundary"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{STAGE_ACCOUNTS[stage]}:policy/mlops-boundary"]]
        }


def test_the_principal_is_read_from_the_environment_and_checked():
    env = {
        "PROJECT_NAME": "p", "PROJECT_ID": "p-1", "MODEL_PACKAGE_GROUP_NAME": "g", "ARTIFACT_BUCKET": "b",
        "ARTIFACT_BUCKET_KMS_ID": "k", "AWS_REGION": "eu-west-1",
    }
    assert ProjectSettings.from_env(env).stage_test_principal_arn is None
    assert ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: ""}).stage_test_principal_arn is None
    assert ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: TEST_PRINCIPAL}).stage_test_principal_arn == TEST_PRINCIPAL
    for bad in ("*", "arn:aws:iam::111111111111:root", "arn:aws:iam::*:role/x", "111111111111"):
        with pytest.raises(SettingsError, match="STAGE_TEST_PRINCIPAL_ARN .* is not an IAM role ARN"):
            ProjectSettings.from_env({**env, STAGE_TEST_PRINCIPAL_VARIABLE: bad})


# --- buildspec-test.yml ----------------------------------------------------------------------------


def test_buildspec_test_assumes_the_stage_role_and_runs_the_integration_tests():
    spec = yaml.safe_load((APP_DIR / "buildspec-test.yml").read_text())
    main = yaml.safe_load((APP_DIR / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    assert spec["phases"]["install"]["runtime-versions"] == main["phases"]["install"]["runtime-versions"]
    assert spec["phases"]["install"]["commands"] == ["pip install --quiet -r requirements-dev.txt"]
    script = "\n".join(spec["phases"]["build"]["commands"])
    assert 'aws sts assume-role --role-arn "$STAGE_TEST_ROLE_ARN"' in script
    assert "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN" in script
    assert 'AWS_REGION="$STAGE_REGION"' in script
    assert script.strip().endswith("python -m pytest -q -p no:cacheprovider integration_tests")
    assert spec["env"]["shell"] == "bash"  # the here-string


def test_pytest_without_arguments_collects_only_the_unit_tests():
    import tomllib

    options = tomllib.loads((APP_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["testpaths"] == ["tests"]


# --- integration_tests/stage_checks.py, offline ----------------------------------------------------

STAGE = StageUnderTest(project_name="My-Project", stage="dev", region=REGION, account=STAGE_ACCOUNTS["dev"])
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{STAGE_ACCOUNTS['dev']}:pipeline/my-project-dev-batch"


def test_the_smoke_test_checks_the_path_the_stage_roles_go_under():
    # integration_tests/ imports nothing of the app: it keeps its own copy of the path.
    assert stage_checks.ROLE_PATH == stage_roles.ROLE_PATH


def definition(model_name="Model-a1B2c3D4e5F6"):
    return json.dumps({
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": "s3://b/in/"}],
        "Steps": [{"Name": "BatchTransform", "Type": "Transform", "Arguments": {"ModelName": model_name}}],
    })


def description(**changes):
    return {
        "PipelineArn": PIPELINE_ARN,
        "PipelineName": "my-project-dev-batch",
        "PipelineDefinition": definition(),
        "RoleArn": f"arn:aws:iam::{STAGE_ACCOUNTS['dev']}:role/mlops-deployment/dev-PipelineExecutionRole-X",
        "PipelineStatus": "Active",
        **changes,
    }


def test_stage_under_test_from_the_pipeline_variables():
    env = {"PROJECT_NAME": "My-Project", "STAGE_NAME": "dev", "STAGE_REGION": REGION, "STAGE_ACCOUNT_ID": STAGE_ACCOUNTS["dev"]}
    stage = StageUnderTest.from_env(env)
    assert stage == STAGE
    assert stage.pipeline_name == "my-project-dev-batch"
    with pytest.raises(StageEnvironmentError, match="Missing environment variables: STAGE_NAME, STAGE_REGION"):
        StageUnderTest.from_env({"PROJECT_NAME": "p"})


def test_a_deployed_pipeline_passes():
    assert pipeline_problems(description(), STAGE) == []


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"PipelineStatus": "Deleting"}, "pipeline status is 'Deleting'"),
        ({"PipelineArn": PIPELINE_ARN.replace("111111111111", "999999999999")}, "is not in account 111111111111"),
        ({"RoleArn": "arn:aws:iam::111111111111:role/Admin"}, "is not a deployment role"),
        ({"PipelineDefinition": "{"}, "pipeline definition is not JSON"),
        ({"PipelineDefinition": json.dumps({"Steps": []})}, "does not hold exactly one Transform step"),
        ({"PipelineDefinition": definition(model_name={"Get": "Parameters.Model"})}, "names no deployed model"),
        ({"PipelineDefinition": definition(model_name="")}, "names no deployed model"),
    ],
)
def test_what_the_smoke_test_catches(changes, problem):
    assert any(problem in p for p in pipeline_problems(description(**changes), STAGE))


def test_check_stage_makes_only_the_calls_the_test_role_allows():
    client = fake_client("sagemaker")
    stubber = Stubber(client)
    stubber.add_response("describe_pipeline", description(), {"PipelineName": "my-project-dev-batch"})
    stubber.add_response(
        "list_pipeline_executions",
        {"PipelineExecutionSummaries": []},
        {"PipelineName": "my-project-dev-batch", "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1},
    )
    with stubber:
        assert check_stage(client, STAGE) == []
    stubber.assert_no_pending_responses()


def test_the_integration_tests_start_nothing():
    # The test role may not start a run; the tests must not try (a transform costs money).
    source = "\n".join(p.read_text() for p in (APP_DIR / "integration_tests").glob("*.py"))
    assert "start_pipeline_execution" not in source and "create_transform_job" not in source
