"""The stage templates hold only what the target accounts let CloudFormation create.

The platform team gives the CDK bootstrap of each target account a scoped execution policy
instead of AdministratorAccess (DeploymentTargetPolicy of cdk-sagemaker-project-templates): it
allows the resource types listed in target_account_permissions.json, roles only under one path
and with its permissions boundary, and a boundary that allows the listed model role actions. A
template with anything else would fail at deploy time; these tests fail first, and say why.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlops_deploy.stage_roles import ROLE_PATH

from deploy_endpoint.endpoint_stack import DATA_CAPTURE_PREFIX
from deploy_endpoint.settings import PERMISSIONS_BOUNDARY_VARIABLE, ProjectSettings, SettingsError

from .conftest import PROJECT, STAGE_ACCOUNTS, synth_templates

ALLOWED = json.loads((Path(__file__).parent / "target_account_permissions.json").read_text())


def resources_of(template: dict, resource_type: str) -> list:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_only_resource_types_the_target_accounts_allow(default_templates):
    for stage, template in default_templates.items():
        types = {r["Type"] for r in template["Resources"].values()}
        extra = sorted(types - set(ALLOWED["resourceTypes"]))
        assert not extra, (
            f"{stage}.template.json creates {', '.join(extra)}, which the target accounts' CloudFormation "
            "execution policy does not allow: ask the platform team to allow it, then add it to "
            "tests/target_account_permissions.json"
        )


def test_properties_the_target_accounts_leave_out(default_templates):
    # The execution policy grants no permission that only these properties need.
    for stage, template in default_templates.items():
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            for name in ALLOWED["unsetProperties"].get(resource["Type"], []):
                assert name not in props, f"{stage}: {resource['Type']} sets {name}, which the target accounts do not allow"
            for name, value in ALLOWED["fixedProperties"].get(resource["Type"], {}).items():
                assert props.get(name) == value, f"{stage}: {resource['Type']} {name} must be {value!r}"


def test_roles_under_the_path_the_target_accounts_allow(default_templates):
    assert ROLE_PATH == ALLOWED["rolePath"]
    for template in default_templates.values():
        roles = resources_of(template, "AWS::IAM::Role")
        assert roles
        for role in roles:
            assert role["Properties"]["Path"] == ALLOWED["rolePath"]


def test_model_role_actions_within_the_boundary(default_templates):
    for stage, template in default_templates.items():
        for policy in resources_of(template, "AWS::IAM::Policy"):
            actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in [s["Action"]] for a in (a if isinstance(a, list) else [a])}
            extra = sorted(actions - set(ALLOWED["modelRoleActions"]))
            assert not extra, f"{stage}: the model role may {extra}, beyond the permissions boundary of the target accounts"


def test_data_capture_writes_only_under_the_prefix_the_project_allows(default_templates):
    # The project's bucket policy lets a stage's account write datacapture/<project>-<stage>/ only.
    assert DATA_CAPTURE_PREFIX == "datacapture/"
    for stage, template in default_templates.items():
        for config in resources_of(template, "AWS::SageMaker::EndpointConfig"):
            capture = config["Properties"].get("DataCaptureConfig")
            if capture:
                assert capture["DestinationS3Uri"] == f"s3://{PROJECT.artifact_bucket}/datacapture/{PROJECT.project_name}-{stage}"


def test_no_boundary_unless_the_project_names_one(default_templates):
    for template in default_templates.values():
        for role in resources_of(template, "AWS::IAM::Role"):
            assert "PermissionsBoundary" not in role["Properties"]


def test_the_permissions_boundary_the_project_names(tmp_path):
    project = dataclasses.replace(PROJECT, role_permissions_boundary="mlops-deployment-eu-west-1-boundary")
    templates = synth_templates(tmp_path, project)
    for stage, template in templates.items():
        (role,) = resources_of(template, "AWS::IAM::Role")
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{STAGE_ACCOUNTS[stage]}:policy/mlops-deployment-eu-west-1-boundary"]]
        }


def test_the_boundary_is_read_from_the_environment_and_checked():
    env = {
        "PROJECT_NAME": "p", "PROJECT_ID": "p-1", "MODEL_PACKAGE_GROUP_NAME": "g", "ARTIFACT_BUCKET": "b",
        "ARTIFACT_BUCKET_KMS_ID": "k", "AWS_REGION": "eu-west-1",
    }
    assert ProjectSettings.from_env(env).role_permissions_boundary is None
    assert ProjectSettings.from_env({**env, PERMISSIONS_BOUNDARY_VARIABLE: "ml/Boundary"}).role_permissions_boundary == "ml/Boundary"
    with pytest.raises(SettingsError, match="DEPLOYMENT_ROLE_PERMISSIONS_BOUNDARY 'arn:aws:iam::1:policy/b' is not a customer managed policy name"):
        ProjectSettings.from_env({**env, PERMISSIONS_BOUNDARY_VARIABLE: "arn:aws:iam::1:policy/b"})


# --- Data-quality monitoring: what the target accounts must allow on top ------------------------

MONITORING = json.loads((Path(__file__).parent / "monitoring_target_account_permissions.json").read_text())


def policy_actions(policy: dict) -> set:
    return {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_monitoring_templates_only_add_what_the_monitoring_file_lists(monitoring_templates):
    allowed_types = set(ALLOWED["resourceTypes"]) | set(MONITORING["resourceTypes"])
    for stage, template in monitoring_templates.items():
        types = {r["Type"] for r in template["Resources"].values()}
        assert set(MONITORING["resourceTypes"]) <= types
        assert not types - allowed_types, f"{stage}-monitoring: {sorted(types - allowed_types)} listed nowhere"
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            for name in ALLOWED["unsetProperties"].get(resource["Type"], []):
                assert name not in props
            if resource["Type"] == "AWS::IAM::Role":
                assert props["Path"] == ALLOWED["rolePath"]
            if resource["Type"] == "AWS::IAM::Policy":
                allowed = MONITORING["monitoringRoleActions"] if logical_id.startswith("MonitoringPolicy") else ALLOWED["modelRoleActions"]
                extra = sorted(policy_actions(resource) - set(allowed))
                assert not extra, f"{stage}-monitoring: {logical_id} may {extra}, listed nowhere"


def test_monitoring_role_actions_are_all_used(monitoring_templates):
    (policy,) = [
        r for k, r in monitoring_templates["prod"]["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and k.startswith("MonitoringPolicy")
    ]
    assert policy_actions(policy) == set(MONITORING["monitoringRoleActions"])


def test_the_monitoring_role_carries_the_permissions_boundary(tmp_path):
    from .conftest import BASELINE

    project = dataclasses.replace(PROJECT, role_permissions_boundary="mlops-deployment-eu-west-1-boundary", model_monitoring=True)
    templates = synth_templates(tmp_path, project, package_extra={"DriftCheckBaselines": BASELINE})
    roles = resources_of(templates["prod"], "AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles:
        assert role["Properties"]["PermissionsBoundary"] == {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{STAGE_ACCOUNTS['prod']}:policy/mlops-deployment-eu-west-1-boundary"]]
        }
    assert MONITORING["resourceTypes"] and not set(MONITORING["resourceTypes"]) & set(ALLOWED["resourceTypes"])
