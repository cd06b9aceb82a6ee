"""Private networking per stage (STAGE_NETWORKS): the model, and the monitoring jobs, in the stage's
subnets, given as ids or as SSM parameters of the stage's account that the template reads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mlops_deploy.vpc import DESCRIBE_NETWORK_ACTIONS, NETWORK_INTERFACE_ACTIONS

from .conftest import (
    BASELINE,
    PROJECT,
    SECURITY_GROUPS,
    STAGE_ACCOUNTS,
    STAGE_NETWORKS,
    SUBNETS,
    synth_templates,
)
from .conftest import render
from .test_app import only

NETWORK_ACTIONS = set(NETWORK_INTERFACE_ACTIONS) | set(DESCRIBE_NETWORK_ACTIONS)
ALLOWED = json.loads((Path(__file__).parent / "target_account_permissions.json").read_text())
MONITORING_ALLOWED = json.loads((Path(__file__).parent / "monitoring_target_account_permissions.json").read_text())


def statements(template: dict, prefix: str) -> dict:
    (policy,) = [
        r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy" and k.startswith(prefix)
    ]
    return {s["Sid"]: {**s, "Resource": render(s["Resource"])} for s in policy["PolicyDocument"]["Statement"]}


def actions(statement: dict) -> set:
    return set([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])


def ec2_arn(stage: str, resource: str) -> str:
    return f"arn:aws:ec2:{PROJECT.region}:{STAGE_ACCOUNTS[stage]}:{resource}"


# The stage without a network, and the model's VpcConfig: tests/test_deploy_networks.py (shared).


# --- The roles -----------------------------------------------------------------------------------


def test_the_model_role_manages_network_interfaces_of_the_given_subnets_and_groups(vpc_templates):
    by_stage = {stage: statements(t, "ModelExecutionPolicy") for stage, t in vpc_templates.items()}
    for stage, found in by_stage.items():
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


def test_the_roles_gain_only_the_network_actions(vpc_templates, monitoring_templates):
    for stage, template in vpc_templates.items():
        for prefix in ("ModelExecutionPolicy", "MonitoringPolicy"):
            without = statements(monitoring_templates[stage], prefix)
            with_vpc = statements(template, prefix)
            assert set(with_vpc) - set(without) == {"ManageNetworkInterfaces", "DescribeNetworks"}
            assert {sid: s for sid, s in with_vpc.items() if sid in without} == without


def test_the_network_actions_are_all_the_target_accounts_must_add(vpc_templates):
    # target_account_permissions.json (and the monitoring file) list what the target accounts allow;
    # in a VPC, the roles may do nothing beyond them but the network actions.
    for template in vpc_templates.values():
        for prefix, allowed in (
            ("ModelExecutionPolicy", ALLOWED["modelRoleActions"]),
            ("MonitoringPolicy", MONITORING_ALLOWED["monitoringRoleActions"]),
        ):
            gained = set().union(*(actions(s) for s in statements(template, prefix).values())) - set(allowed)
            assert gained <= NETWORK_ACTIONS
        types = {r["Type"] for r in template["Resources"].values()}
        assert types <= set(ALLOWED["resourceTypes"]) | set(MONITORING_ALLOWED["resourceTypes"])


# --- Monitoring ----------------------------------------------------------------------------------


def test_the_monitoring_jobs_run_in_the_same_network(vpc_templates):
    for stage, template in vpc_templates.items():
        model = only(template, "AWS::SageMaker::Model")
        definition = only(template, "AWS::SageMaker::DataQualityJobDefinition")
        assert definition["NetworkConfig"] == {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": model["VpcConfig"],
        }, stage


def test_the_job_definition_is_renamed_when_the_network_changes(tmp_path, vpc_templates, monitoring_templates):
    # Its properties can only be replaced: a new name lets CloudFormation create the new one first.
    names = {
        stage: only(t, "AWS::SageMaker::DataQualityJobDefinition")["JobDefinitionName"] for stage, t in vpc_templates.items()
    }
    for stage, template in monitoring_templates.items():
        assert only(template, "AWS::SageMaker::DataQualityJobDefinition")["JobDefinitionName"] != names[stage]
    other = dataclasses.replace(STAGE_NETWORKS["prod"], subnet_ids=SUBNETS[:1])
    project = dataclasses.replace(PROJECT, model_monitoring=True, stage_networks={"prod": other})
    templates = synth_templates(tmp_path, project, package_extra={"DriftCheckBaselines": BASELINE})
    assert only(templates["prod"], "AWS::SageMaker::DataQualityJobDefinition")["JobDefinitionName"] != names["prod"]


# STAGE_NETWORKS itself: tests/test_deploy_settings.py (shared).
