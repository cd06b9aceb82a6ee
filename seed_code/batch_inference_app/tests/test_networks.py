"""Private networking per stage (STAGE_NETWORKS): the model, and so the batch transform jobs of its
pipeline, in the stage's subnets, given as ids or as SSM parameters of the stage's account that the
template reads. Same variable, format and checks as the endpoint deploy app."""

from __future__ import annotations

import dataclasses
import json

import pytest

from batch_inference.batch_stack import (
    DESCRIBE_NETWORK_ACTIONS,
    NETWORK_INTERFACE_ACTIONS,
    SECURITY_GROUPS_PARAMETER_TYPE,
    SUBNETS_PARAMETER_TYPE,
)
from batch_inference.settings import (
    STAGE_NETWORKS_VARIABLE,
    ProjectSettings,
    SettingsError,
    StageNetwork,
    parse_stage_networks,
)

from .conftest import (
    PROJECT,
    SECURITY_GROUPS,
    SECURITY_GROUPS_PARAMETER,
    STAGE_ACCOUNTS,
    STAGE_NETWORKS,
    SUBNETS,
    SUBNETS_PARAMETER,
    synth_templates,
)
from .test_app import StubbedSession, only, pipeline_definition, role
from .test_target_accounts import ALLOWED

NETWORK_ACTIONS = set(NETWORK_INTERFACE_ACTIONS) | set(DESCRIBE_NETWORK_ACTIONS)

ENV = {
    "PROJECT_NAME": "my-project",
    "PROJECT_ID": "p-abc123",
    "MODEL_PACKAGE_GROUP_NAME": "my-project-p-abc123",
    "ARTIFACT_BUCKET": "mlops-my-project-111111111111",
    "ARTIFACT_BUCKET_KMS_ID": "arn:aws:kms:eu-west-1:111111111111:key/k",
    "AWS_REGION": "eu-west-1",
}


def actions(statement: dict) -> set:
    return set([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])


def ec2_arn(stage: str, resource: str) -> str:
    return f"arn:aws:ec2:{PROJECT.region}:{STAGE_ACCOUNTS[stage]}:{resource}"


# --- Off -----------------------------------------------------------------------------------------


def test_no_vpc_without_stage_networks(default_templates):
    for template in default_templates.values():
        assert "VpcConfig" not in only(template, "AWS::SageMaker::Model")
        assert "Parameters" not in template
        assert "ec2:" not in json.dumps(template)


def test_stages_without_a_network_are_unchanged(tmp_path, default_templates):
    project = dataclasses.replace(PROJECT, stage_networks={"prod": STAGE_NETWORKS["preprod"]})
    templates = synth_templates(tmp_path, project)
    assert templates["dev"] == default_templates["dev"]
    assert templates["preprod"] == default_templates["preprod"]
    assert templates["prod"] != default_templates["prod"]


# --- The model and its transform jobs ------------------------------------------------------------


def test_subnets_and_security_groups_by_id(vpc_templates):
    template = vpc_templates["dev"]
    model = only(template, "AWS::SageMaker::Model")
    assert model["VpcConfig"] == {"Subnets": list(SUBNETS), "SecurityGroupIds": list(SECURITY_GROUPS)}
    # The deploy pipeline's checkov scan fails a model without network isolation: it stays on.
    assert model["EnableNetworkIsolation"] is True
    assert "Parameters" not in template


def test_subnets_and_security_groups_from_ssm_parameters_of_the_stage_account(vpc_templates):
    template = vpc_templates["preprod"]
    # The pipeline deploys without parameter overrides: the defaults name the SSM parameters, which
    # CloudFormation resolves in the stage's account.
    assert {k: {"Type": v["Type"], "Default": v["Default"]} for k, v in template["Parameters"].items()} == {
        "SubnetIds": {"Type": SUBNETS_PARAMETER_TYPE, "Default": SUBNETS_PARAMETER},
        "SecurityGroupIds": {"Type": SECURITY_GROUPS_PARAMETER_TYPE, "Default": SECURITY_GROUPS_PARAMETER},
    }
    assert SUBNETS_PARAMETER_TYPE == "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
    assert SECURITY_GROUPS_PARAMETER_TYPE == "AWS::SSM::Parameter::Value<List<AWS::EC2::SecurityGroup::Id>>"
    model = only(template, "AWS::SageMaker::Model")
    assert model["VpcConfig"] == {"Subnets": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    assert model["EnableNetworkIsolation"] is True


def test_ids_and_a_parameter_mixed(vpc_templates):
    template = vpc_templates["prod"]
    assert list(template["Parameters"]) == ["SecurityGroupIds"]
    model = only(template, "AWS::SageMaker::Model")
    assert model["VpcConfig"] == {"Subnets": list(SUBNETS), "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}


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


# --- STAGE_NETWORKS --------------------------------------------------------------------------------


def test_stage_networks_from_env():
    value = json.dumps(
        {
            "dev": {"subnetIds": list(SUBNETS), "securityGroupIds": list(SECURITY_GROUPS)},
            "preprod": {"subnetIdsParameter": SUBNETS_PARAMETER, "securityGroupIdsParameter": SECURITY_GROUPS_PARAMETER},
            "prod": {"subnetIds": list(SUBNETS), "securityGroupIdsParameter": SECURITY_GROUPS_PARAMETER},
        }
    )
    assert ProjectSettings.from_env({**ENV, STAGE_NETWORKS_VARIABLE: value}).stage_networks == STAGE_NETWORKS


@pytest.mark.parametrize("value", [None, "", "  "])
def test_no_stage_networks(value):
    env = ENV if value is None else {**ENV, STAGE_NETWORKS_VARIABLE: value}
    assert ProjectSettings.from_env(env).stage_networks == {}


def test_stage_networks_of_custom_stages():
    env = {**ENV, "DEPLOYMENT_STAGES": "dev,qa", STAGE_NETWORKS_VARIABLE: '{"qa": {"subnetIdsParameter": "subnets", "securityGroupIds": ["sg-1a2b3c4d"]}}'}
    assert ProjectSettings.from_env(env).stage_networks == {
        "qa": StageNetwork(subnet_ids_parameter="subnets", security_group_ids=("sg-1a2b3c4d",))
    }


GOOD_SUBNETS = '"subnetIds": ["subnet-1a2b3c4d"]'
GOOD_GROUPS = '"securityGroupIds": ["sg-1a2b3c4d"]'


@pytest.mark.parametrize(
    "value, message",
    [
        ("{prod: 1}", "STAGE_NETWORKS is not JSON"),
        ('["prod"]', "STAGE_NETWORKS must be a JSON object keyed by stage name"),
        ('{"qa": {%s, %s}}' % (GOOD_SUBNETS, GOOD_GROUPS), "STAGE_NETWORKS names stage\\(s\\) 'qa', which are not deployment stages"),
        ('{"prod": ["subnet-1a2b3c4d"]}', "stage 'prod': expected an object"),
        ('{"prod": {%s, %s, "vpcId": "vpc-1a2b3c4d"}}' % (GOOD_SUBNETS, GOOD_GROUPS), "stage 'prod': unknown key\\(s\\) \\['vpcId'\\]"),
        ('{"prod": {%s}}' % GOOD_SUBNETS, "stage 'prod': give securityGroupIds or securityGroupIdsParameter, one of them"),
        (
            '{"prod": {%s, "subnetIdsParameter": "/a", %s}}' % (GOOD_SUBNETS, GOOD_GROUPS),
            "stage 'prod': give subnetIds or subnetIdsParameter, one of them",
        ),
        ('{"prod": {"subnetIds": [], %s}}' % GOOD_GROUPS, "stage 'prod': subnetIds must be a list of 1-16 ids"),
        ('{"prod": {"subnetIds": "subnet-1a2b3c4d", %s}}' % GOOD_GROUPS, "stage 'prod': subnetIds must be a list of 1-16 ids"),
        ('{"prod": {%s, "securityGroupIds": %s}}' % (GOOD_SUBNETS, json.dumps([f"sg-{i:08x}" for i in range(6)])), "securityGroupIds must be a list of 1-5 ids"),
        ('{"prod": {"subnetIds": ["subnet-1A2B3C4D"], %s}}' % GOOD_GROUPS, 'subnetIds entry "subnet-1A2B3C4D" is not a subnet id'),
        ('{"prod": {"subnetIds": ["subnet-1a2b3c4d5"], %s}}' % GOOD_GROUPS, 'subnetIds entry "subnet-1a2b3c4d5" is not a subnet id'),
        ('{"prod": {"subnetIds": ["sg-1a2b3c4d"], %s}}' % GOOD_GROUPS, 'subnetIds entry "sg-1a2b3c4d" is not a subnet id'),
        ('{"prod": {%s, "securityGroupIds": ["sg-xyz"]}}' % GOOD_SUBNETS, 'securityGroupIds entry "sg-xyz" is not a security group id'),
        ('{"prod": {%s, "securityGroupIds": [7]}}' % GOOD_SUBNETS, "securityGroupIds entry 7 is not a security group id"),
        ('{"prod": {"subnetIds": ["subnet-1a2b3c4d", "subnet-1a2b3c4d"], %s}}' % GOOD_GROUPS, "subnetIds lists an id twice"),
        ('{"prod": {"subnetIdsParameter": "mlops/subnets", %s}}' % GOOD_GROUPS, "subnetIdsParameter \"mlops/subnets\" is not an SSM parameter name \\(it has levels but does not start with '/'\\)"),
        ('{"prod": {"subnetIdsParameter": "/mlops/sub nets", %s}}' % GOOD_GROUPS, "is not an SSM parameter name \\(it holds a character"),
        ('{"prod": {"subnetIdsParameter": "", %s}}' % GOOD_GROUPS, "is not an SSM parameter name \\(it is empty\\)"),
        ('{"prod": {%s, "securityGroupIdsParameter": "/mlops//groups"}}' % GOOD_SUBNETS, "securityGroupIdsParameter \"/mlops//groups\" is not an SSM parameter name \\(it has an empty level\\)"),
        ('{"prod": {%s, "securityGroupIdsParameter": ["/a"]}}' % GOOD_SUBNETS, "is not an SSM parameter name \\(it is not a string\\)"),
    ],
)
def test_invalid_stage_networks_are_refused_naming_the_variable_the_stage_and_the_value(value, message):
    with pytest.raises(SettingsError, match=message) as error:
        ProjectSettings.from_env({**ENV, STAGE_NETWORKS_VARIABLE: value})
    text = str(error.value)
    assert text.startswith("STAGE_NETWORKS")
    if "stage '" in text:
        # The stage's value, as given.
        assert json.dumps(json.loads(value)["prod"]) in text
    else:
        assert repr(value) in text


def test_a_stage_network_needs_its_subnets_and_security_groups():
    with pytest.raises(ValueError, match="subnet_ids or subnet_ids_parameter"):
        StageNetwork(security_group_ids=SECURITY_GROUPS)
    with pytest.raises(ValueError, match="security_group_ids or security_group_ids_parameter"):
        StageNetwork(subnet_ids=SUBNETS, security_group_ids=SECURITY_GROUPS, security_group_ids_parameter="/a")
    assert parse_stage_networks("{}", ("dev",)) == {}


def test_app_main_reports_a_bad_stage_network(monkeypatch, capsys):
    import app

    for name, value in {**ENV, STAGE_NETWORKS_VARIABLE: '{"prod": {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1a2b3c4d"]}}'}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DEPLOYMENT_STAGES", raising=False)
    assert app.main() == 1
    assert "ERROR: STAGE_NETWORKS: stage 'prod': subnetIds entry \"subnet-1\" is not a subnet id" in capsys.readouterr().err


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
