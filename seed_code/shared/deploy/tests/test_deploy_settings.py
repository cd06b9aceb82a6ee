"""The project settings every deploy app reads from the environment (mlops_deploy/settings.py),
STAGE_NETWORKS among them (mlops_deploy/networks.py), through the app's own ProjectSettings, which
the app's tests/conftest.py imports."""

from __future__ import annotations

import json

import pytest

from mlops_deploy.errors import SettingsError
from mlops_deploy.networks import STAGE_NETWORKS_VARIABLE, StageNetwork, parse_stage_networks
from mlops_deploy.settings import DEFAULT_STAGES, parse_stages

from .conftest import ProjectSettings
from .deploy_stubs import (
    ENV,
    SECURITY_GROUPS,
    SECURITY_GROUPS_PARAMETER,
    STAGE_NETWORKS,
    SUBNETS,
    SUBNETS_PARAMETER,
)


def test_settings_from_env():
    settings = ProjectSettings.from_env({**ENV, "DEPLOYMENT_STAGES": " dev, qa ,prod "})
    assert settings.project_name == "my-project"
    assert settings.artifact_bucket_kms_key_arn == ENV["ARTIFACT_BUCKET_KMS_ID"]
    assert settings.stages == ("dev", "qa", "prod")


def test_stages_default_and_duplicates():
    assert ProjectSettings.from_env(ENV).stages == DEFAULT_STAGES == ("dev", "preprod", "prod")
    assert parse_stages(" , ") == DEFAULT_STAGES
    with pytest.raises(SettingsError, match="twice"):
        parse_stages("dev,prod,dev")


def test_missing_variables_are_all_named():
    env = {k: v for k, v in ENV.items() if k not in ("ARTIFACT_BUCKET", "AWS_REGION")}
    with pytest.raises(SettingsError, match="Missing environment variables: ARTIFACT_BUCKET, AWS_REGION"):
        ProjectSettings.from_env(env)


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
