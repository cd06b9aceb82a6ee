"""What every deploy app's stage templates must keep within, as the target accounts allow it: the
app's tests/target_account_permissions.json (the DeploymentTargetPolicy of the construct library
holds the same lists, and its contract check reads this file)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlops_deploy.errors import SettingsError
from mlops_deploy.settings import PERMISSIONS_BOUNDARY_VARIABLE
from mlops_deploy.stage_roles import ROLE_PATH

from .conftest import PROJECT, STAGE_ACCOUNTS, ProjectSettings, synth_templates

ALLOWED = json.loads((Path(__file__).parent / "target_account_permissions.json").read_text())


def resources_of(template: dict, resource_type: str) -> list:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


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
    # The execution policy grants no permission that only these properties need (a dotted name
    # is a property of a property).
    for stage, template in default_templates.items():
        for resource in template["Resources"].values():
            props = resource.get("Properties", {})
            for name in ALLOWED["unsetProperties"].get(resource["Type"], []):
                *parents, leaf = name.split(".")
                holder = props
                for parent in parents:
                    holder = holder.get(parent, {})
                assert leaf not in holder, f"{stage}: {resource['Type']} sets {name}, which the target accounts do not allow"
            for name, value in ALLOWED["fixedProperties"].get(resource["Type"], {}).items():
                assert props.get(name) == value, f"{stage}: {resource['Type']} {name} must be {value!r}"


def test_roles_under_the_path_the_target_accounts_allow(default_templates):
    assert ROLE_PATH == ALLOWED["rolePath"]
    for template in default_templates.values():
        roles = resources_of(template, "AWS::IAM::Role")
        assert roles
        for role in roles:
            assert role["Properties"]["Path"] == ALLOWED["rolePath"]


def test_role_actions_within_the_boundary(default_templates):
    for stage, template in default_templates.items():
        for policy in resources_of(template, "AWS::IAM::Policy"):
            actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
            extra = sorted(actions - set(ALLOWED["modelRoleActions"]))
            assert not extra, f"{stage}: a role may {extra}, beyond the permissions boundary of the target accounts"


def test_no_boundary_unless_the_project_names_one(default_templates):
    for template in default_templates.values():
        for role in resources_of(template, "AWS::IAM::Role"):
            assert "PermissionsBoundary" not in role["Properties"]


def test_every_role_gets_the_permissions_boundary_the_project_names(tmp_path):
    project = dataclasses.replace(PROJECT, role_permissions_boundary="mlops-deployment-eu-west-1-boundary")
    templates = synth_templates(tmp_path, project)
    for stage, template in templates.items():
        roles = resources_of(template, "AWS::IAM::Role")
        assert roles
        for role in roles:
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
