"""The stage templates hold only what the target accounts let CloudFormation create.

The platform team gives the CDK bootstrap of each target account a scoped execution policy
instead of AdministratorAccess (DeploymentTargetPolicy of cdk-sagemaker-project-templates): it
allows the resource types listed in target_account_permissions.json, roles only under one path
and with its permissions boundary, passed only to the listed services, and a boundary that allows
the listed role actions. A template with anything else would fail at deploy time; these tests fail
first, and say why.

What every deploy app keeps within (resource types, properties, role path, boundary) is
checked by the shared tests/test_deploy_target_accounts.py; here is what is this app's own.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from batch_inference.batch_stack import BATCH_PREFIX

from .conftest import PROJECT, render, synth_templates

ALLOWED = json.loads((Path(__file__).parent / "target_account_permissions.json").read_text())


def resources_of(template: dict, resource_type: str) -> list:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_roles_trust_only_the_services_they_are_passed_to(default_templates):
    for stage, template in default_templates.items():
        for role in resources_of(template, "AWS::IAM::Role"):
            for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                services = as_list(statement["Principal"]["Service"])
                assert set(services) <= set(ALLOWED["passRoleServices"]), f"{stage}: a role trusts {services}"


def test_output_goes_under_the_batch_prefix_of_the_stage(default_templates):
    # The project would let a stage's account write batch/<project>-<stage>/ only (see README).
    assert BATCH_PREFIX == "batch/"
    for stage, template in default_templates.items():
        for policy in resources_of(template, "AWS::IAM::Policy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if "s3:PutObject" in as_list(statement["Action"]):
                    assert render(statement["Resource"]) == (
                        f"arn:aws:s3:::{PROJECT.artifact_bucket}/batch/{PROJECT.project_name}-{stage}/output/*"
                    )


def test_three_roles_per_stage_each_with_the_boundary_the_project_names(default_templates, tmp_path):
    # The model, pipeline and schedule roles (the shared tests check each one's path and boundary).
    for template in default_templates.values():
        assert len(resources_of(template, "AWS::IAM::Role")) == 3
    project = dataclasses.replace(PROJECT, role_permissions_boundary="mlops-deployment-eu-west-1-boundary")
    for template in synth_templates(tmp_path, project).values():
        roles = resources_of(template, "AWS::IAM::Role")
        assert len(roles) == 3
        assert all("PermissionsBoundary" in role["Properties"] for role in roles)
