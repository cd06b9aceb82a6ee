"""Private networking per stage (STAGE_NETWORKS): the model, and so the batch transform jobs of its
pipeline, in the stage's subnets, given as ids or as SSM parameters of the stage's account that the
template reads. Same variable, format and checks as the endpoint deploy app."""

from __future__ import annotations

import json

from mlops_deploy.vpc import DESCRIBE_NETWORK_ACTIONS, NETWORK_INTERFACE_ACTIONS

from batch_inference.settings import STAGE_NETWORKS_VARIABLE

from .conftest import (
    PROJECT,
    SECURITY_GROUPS,
    SECURITY_GROUPS_PARAMETER,
    STAGE_ACCOUNTS,
    SUBNETS,
)
from .deploy_stubs import ENV
from .test_app import StubbedSession, only, pipeline_definition, role
from .test_target_accounts import ALLOWED

NETWORK_ACTIONS = set(NETWORK_INTERFACE_ACTIONS) | set(DESCRIBE_NETWORK_ACTIONS)


def actions(statement: dict) -> set:
    return set([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])


def ec2_arn(stage: str, resource: str) -> str:
    return f"arn:aws:ec2:{PROJECT.region}:{STAGE_ACCOUNTS[stage]}:{resource}"


# The stage without a network, and the model's VpcConfig: tests/test_deploy_networks.py (shared).


# --- The model and its transform jobs ------------------------------------------------------------


def test_the_transform_jobs_take_the_network_from_the_model(vpc_templates, default_templates):
    # A transform job runs in its model's VpcConfig: the pipeline, its step and the schedule stay as they were.
    for stage, template in vpc_templates.items():
        assert pipeline_definition(template) == pipeline_definition(default_templates[stage])
        for resource_type in ("AWS::SageMaker::Pipeline", "AWS::Events::Rule"):
            assert only(template, resource_type) == only(default_templates[stage], resource_type)


# --- The roles -----------------------------------------------------------------------------------


def test_the_model_role_manages_network_interfaces_of_the_given_subnets_and_groups(vpc_templates):
    by_stage = {stage: role(t, "ModelExecutionRole")["statements"] for stage, t in vpc_templates.items()}
    for found in by_stage.values():
        assert actions(found["ManageNetworkInterfaces"]) == set(NETWORK_INTERFACE_ACTIONS)
        assert actions(found["DescribeNetworks"]) == set(DESCRIBE_NETWORK_ACTIONS)
        # The Describe actions take no resource.
        assert found["DescribeNetworks"]["Resource"] == "*"
    assert by_stage["dev"]["ManageNetworkInterfaces"]["Resource"] == [
        ec2_arn("dev", "network-interface/*"),
        *(ec2_arn("dev", f"subnet/{subnet}") for subnet in SUBNETS),
        *(ec2_arn("dev", f"security-group/{group}") for group in SECURITY_GROUPS),
    ]
    # Ids from SSM are known at deployment only: any subnet and security group of the stage's account.
    assert by_stage["preprod"]["ManageNetworkInterfaces"]["Resource"] == [
        ec2_arn("preprod", "network-interface/*"),
        ec2_arn("preprod", "subnet/*"),
        ec2_arn("preprod", "security-group/*"),
    ]
    assert by_stage["prod"]["ManageNetworkInterfaces"]["Resource"] == [
        ec2_arn("prod", "network-interface/*"),
        *(ec2_arn("prod", f"subnet/{subnet}") for subnet in SUBNETS),
        ec2_arn("prod", "security-group/*"),
    ]


def test_only_the_model_role_gains_and_only_the_network_actions(vpc_templates, default_templates):
    for stage, template in vpc_templates.items():
        without = role(default_templates[stage], "ModelExecutionRole")
        with_vpc = role(template, "ModelExecutionRole")
        assert with_vpc["trust"] == without["trust"]
        assert set(with_vpc["statements"]) - set(without["statements"]) == {"ManageNetworkInterfaces", "DescribeNetworks"}
        assert {sid: s for sid, s in with_vpc["statements"].items() if sid in without["statements"]} == without["statements"]
        for prefix in ("PipelineExecutionRole", "ScheduleRole"):
            assert role(template, prefix) == role(default_templates[stage], prefix)


def test_the_network_actions_are_all_the_target_accounts_must_add(vpc_templates):
    # target_account_permissions.json lists what the target accounts allow; in a VPC, the model role
    # may do nothing beyond it but the network actions, and the template creates no other resource type.
    for template in vpc_templates.values():
        statements = role(template, "ModelExecutionRole")["statements"].values()
        gained = set().union(*(actions(s) for s in statements)) - set(ALLOWED["modelRoleActions"])
        assert gained <= NETWORK_ACTIONS
        types = {r["Type"] for r in template["Resources"].values()}
        assert types <= set(ALLOWED["resourceTypes"])


# --- STAGE_NETWORKS (its parsing and checks: tests/test_deploy_settings.py, shared) ---------------


def test_app_main_puts_the_stages_stage_networks_names_in_their_subnets(monkeypatch, tmp_path):
    import app

    network = {"prod": {"subnetIds": list(SUBNETS), "securityGroupIdsParameter": SECURITY_GROUPS_PARAMETER}}
    for name, value in {**ENV, STAGE_NETWORKS_VARIABLE: json.dumps(network)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DEPLOYMENT_STAGES", raising=False)
    session = StubbedSession(approved=True)
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    assert app.main(outdir=str(tmp_path)) == 0
    templates = {stage: json.loads((tmp_path / f"{stage}.template.json").read_text()) for stage in PROJECT.stages}
    assert "VpcConfig" not in only(templates["dev"], "AWS::SageMaker::Model")
    assert "VpcConfig" not in only(templates["preprod"], "AWS::SageMaker::Model")
    assert only(templates["prod"], "AWS::SageMaker::Model")["VpcConfig"] == {
        "Subnets": list(SUBNETS),
        "SecurityGroupIds": {"Ref": "SecurityGroupIds"},
    }
