"""The roles of every deploy app's stage stacks (mlops_deploy/stage_roles.py): under the path the
target accounts allow, with the project's permissions boundary, and the stage test role named as the
library's DeployPipeline assumes it."""

from __future__ import annotations

import dataclasses

import aws_cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from mlops_deploy.stage_roles import (
    MAX_ROLE_NAME_LENGTH,
    ROLE_PATH,
    permissions_boundary,
    service_role,
    stage_test_role,
    stage_test_role_name,
)

from .conftest import PROJECT, synth_templates
from .deploy_stubs import DEV_ACCOUNT, REGION, render

# The role of the deploy pipeline's stage test build (STAGE_TEST_PRINCIPAL_ARN), in the tooling account.
TEST_PRINCIPAL = f"arn:aws:iam::{DEV_ACCOUNT}:role/my-project-deploy-StageTestProjectRole-ABC123"
STATEMENT = iam.PolicyStatement(sid="Something", actions=["sagemaker:DescribePipeline"], resources=["*"])


def stage_stack() -> aws_cdk.Stack:
    return aws_cdk.Stack(aws_cdk.App(), "dev", env=aws_cdk.Environment(account=DEV_ACCOUNT, region=REGION))


def resources(stack: aws_cdk.Stack, resource_type: str) -> dict:
    return {k: r["Properties"] for k, r in Template.from_stack(stack).to_json()["Resources"].items() if r["Type"] == resource_type}


def test_the_test_role_matches_the_arn_the_pipeline_assumes():
    # The pipeline's Test_<Stage> action assumes arn:<partition>:iam::<account>:role/mlops-deployment/mlops-<id>-<stage>-tests.
    for stage in PROJECT.stages:
        assert f"role{ROLE_PATH}{stage_test_role_name(PROJECT.project_id, stage)}" == (
            f"role/mlops-deployment/mlops-{PROJECT.project_id}-{stage}-tests"
        )
    with pytest.raises(ValueError, match="longer than IAM's 64 characters"):
        stage_test_role_name(PROJECT.project_id, "s" * 50)


def test_the_test_role_name_may_have_64_characters_and_no_more():
    # mlops- and -tests take 12 characters; the stage name is what the project can shorten.
    longest = "s" * (MAX_ROLE_NAME_LENGTH - len("mlops-") - len(PROJECT.project_id) - len("-tests") - 1)
    assert len(stage_test_role_name(PROJECT.project_id, longest)) == MAX_ROLE_NAME_LENGTH == 64
    with pytest.raises(ValueError, match=r"'mlops-p-abc123-s+-tests' is longer than IAM's 64 characters \(65, 1 too many\)"):
        stage_test_role_name(PROJECT.project_id, longest + "s")


def test_a_too_long_test_role_name_fails_synth(tmp_path):
    project = dataclasses.replace(PROJECT, stage_test_principal_arn=TEST_PRINCIPAL, project_id="p-" + "x" * 60, stages=("dev",))
    with pytest.raises(ValueError, match=r"stage test role name .* longer than IAM's 64 characters \(\d+, \d+ too many\)"):
        synth_templates(tmp_path, project)


def test_no_boundary_unless_the_project_names_one():
    stack = stage_stack()
    assert permissions_boundary(stack, None) is None
    assert permissions_boundary(stack, "") is None
    boundary = permissions_boundary(stack, "boundaries/mlops-deployment-boundary")
    assert boundary is not None
    assert render(stack.resolve(boundary.managed_policy_arn)) == (
        f"arn:aws:iam::{DEV_ACCOUNT}:policy/boundaries/mlops-deployment-boundary"
    )


def test_a_service_role_goes_under_the_role_path_with_the_boundary_and_its_one_policy():
    stack = stage_stack()
    boundary = permissions_boundary(stack, "mlops-deployment-boundary")
    conditions = {"StringEquals": {"aws:SourceAccount": DEV_ACCOUNT}}
    role, policy = service_role(
        stack,
        "ScheduleRole",
        service="events.amazonaws.com",
        description="Starts a pipeline",
        statements=[STATEMENT],
        boundary=boundary,
        conditions=conditions,
    )
    assert policy.node.id == "SchedulePolicy"
    ((role_id, props),) = resources(stack, "AWS::IAM::Role").items()
    assert props["Path"] == ROLE_PATH == "/mlops-deployment/"
    assert props["Description"] == "Starts a pipeline"
    assert render(props["PermissionsBoundary"]) == f"arn:aws:iam::{DEV_ACCOUNT}:policy/mlops-deployment-boundary"
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Condition": conditions, "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}}
    ]
    assert "RoleName" not in props and "Policies" not in props and "ManagedPolicyArns" not in props
    (policy_props,) = resources(stack, "AWS::IAM::Policy").values()
    assert policy_props["Roles"] == [{"Ref": role_id}]
    assert policy_props["PolicyDocument"]["Statement"] == [
        {"Sid": "Something", "Action": "sagemaker:DescribePipeline", "Effect": "Allow", "Resource": "*"}
    ]


def test_a_service_role_without_a_boundary_or_conditions():
    stack = stage_stack()
    service_role(
        stack, "ModelExecutionRole", service="sagemaker.amazonaws.com", description="Runs a model", statements=[STATEMENT], boundary=None
    )
    (props,) = resources(stack, "AWS::IAM::Role").values()
    assert "PermissionsBoundary" not in props
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    ((policy_id, _),) = resources(stack, "AWS::IAM::Policy").items()
    assert policy_id.startswith("ModelExecutionPolicy")


@pytest.mark.parametrize("max_session_duration, expected", [(None, None), (aws_cdk.Duration.hours(1), 3600)])
def test_the_stage_test_role_trusts_the_test_build_alone(max_session_duration, expected):
    stack = stage_stack()
    stage_test_role(
        stack,
        project_id=PROJECT.project_id,
        stage="dev",
        principal_arn=TEST_PRINCIPAL,
        description="Tests dev",
        statements=[STATEMENT],
        boundary=permissions_boundary(stack, "mlops-deployment-boundary"),
        max_session_duration=max_session_duration,
    )
    ((role_id, props),) = resources(stack, "AWS::IAM::Role").items()
    assert role_id.startswith("StageTestRole")
    assert props["RoleName"] == f"mlops-{PROJECT.project_id}-dev-tests"
    assert props["Path"] == ROLE_PATH
    assert props["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": TEST_PRINCIPAL}}
    ]
    assert render(props["PermissionsBoundary"]) == f"arn:aws:iam::{DEV_ACCOUNT}:policy/mlops-deployment-boundary"
    assert props.get("MaxSessionDuration") == expected
    ((policy_id, policy),) = resources(stack, "AWS::IAM::Policy").items()
    assert policy_id.startswith("StageTestPolicy")
    assert policy["Roles"] == [{"Ref": role_id}]
    assert [s["Sid"] for s in policy["PolicyDocument"]["Statement"]] == ["Something"]
