"""The stage templates hold only what the target accounts let CloudFormation create.

The platform team gives the CDK bootstrap of each target account a scoped execution policy
instead of AdministratorAccess (DeploymentTargetPolicy of cdk-sagemaker-project-templates): it
allows the resource types listed in target_account_permissions.json, roles only under one path
and with its permissions boundary, and a boundary that allows the listed model role actions. A
template with anything else would fail at deploy time; these tests fail first, and say why.

What every deploy app keeps within (resource types, properties, role path, boundary) is
checked by the shared tests/test_deploy_target_accounts.py; here is what is this app's own.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from deploy_endpoint.endpoint_stack import DATA_CAPTURE_PREFIX

from .conftest import PROJECT, STAGE_ACCOUNTS, synth_templates

ALLOWED = json.loads((Path(__file__).parent / "target_account_permissions.json").read_text())


def resources_of(template: dict, resource_type: str) -> list:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_data_capture_writes_only_under_the_prefix_the_project_allows(default_templates):
    # The project's bucket policy lets a stage's account write datacapture/<project>-<stage>/ only.
    assert DATA_CAPTURE_PREFIX == "datacapture/"
    for stage, template in default_templates.items():
        for config in resources_of(template, "AWS::SageMaker::EndpointConfig"):
            capture = config["Properties"].get("DataCaptureConfig")
            if capture:
                assert capture["DestinationS3Uri"] == f"s3://{PROJECT.artifact_bucket}/datacapture/{PROJECT.project_name}-{stage}"


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


def test_one_role_per_stage_with_the_boundary_the_project_names(tmp_path):
    # The endpoint's model role (the shared tests check its path and boundary).
    project = dataclasses.replace(PROJECT, role_permissions_boundary="mlops-deployment-eu-west-1-boundary")
    for template in synth_templates(tmp_path, project).values():
        (role,) = resources_of(template, "AWS::IAM::Role")
        assert "PermissionsBoundary" in role["Properties"]
