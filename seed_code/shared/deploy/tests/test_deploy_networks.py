"""Private networking per stage (STAGE_NETWORKS) in the stage templates of every deploy app: the
model in the stage's subnets, given as ids or as SSM parameters of the stage's account that the
template reads (mlops_deploy/vpc.py). The fixtures are the app's (tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import json

from mlops_deploy.vpc import SECURITY_GROUPS_PARAMETER_TYPE, SUBNETS_PARAMETER_TYPE

from .conftest import PROJECT, synth_templates
from .deploy_stubs import (
    SECURITY_GROUPS,
    SECURITY_GROUPS_PARAMETER,
    STAGE_NETWORKS,
    SUBNETS,
    SUBNETS_PARAMETER,
)
from .test_app import only

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
