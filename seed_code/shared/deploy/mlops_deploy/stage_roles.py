"""The roles of a stage's stack as the target accounts let a deployment create them (under ROLE_PATH,
with the project's permissions boundary), and the role the deploy pipeline's stage tests assume."""

from __future__ import annotations

from typing import List, Optional

from aws_cdk import Duration, Stack, aws_iam as iam

# Roles go under this path: the target accounts' CloudFormation execution policy (the library's
# DeploymentTargetPolicy) lets deployments create, change and pass roles under it only.
ROLE_PATH = "/mlops-deployment/"

# IAM role names take at most this many characters.
MAX_ROLE_NAME_LENGTH = 64


def permissions_boundary(stack: Stack, policy_name: Optional[str]) -> Optional[iam.IManagedPolicy]:
    """The boundary every role of the stage carries (the target accounts require it), if the project
    names one (``DEPLOYMENT_ROLE_PERMISSIONS_BOUNDARY``): that policy of the stage's account."""
    if not policy_name:
        return None
    return iam.ManagedPolicy.from_managed_policy_arn(
        stack, "PermissionsBoundary", f"arn:{stack.partition}:iam::{stack.account}:policy/{policy_name}"
    )


def service_role(
    stack: Stack,
    construct_id: str,
    *,
    service: str,
    description: str,
    statements: List[iam.PolicyStatement],
    boundary: Optional[iam.IManagedPolicy],
    conditions: Optional[dict] = None,
) -> tuple[iam.Role, iam.Policy]:
    """A role that ``service`` assumes (on ``conditions``, if any), with ``statements`` as its only
    (inline) policy, whose construct id is ``construct_id`` with Role replaced by Policy.

    A resource that the service checks the role of when it is created must depend on the policy
    too: the role's ARN orders the role only.
    """
    role = iam.Role(
        stack,
        construct_id,
        assumed_by=iam.ServicePrincipal(service, conditions=conditions),
        description=description,
        path=ROLE_PATH,
        permissions_boundary=boundary,
    )
    policy = iam.Policy(stack, construct_id.replace("Role", "Policy"), roles=[role], statements=statements)
    return role, policy


def stage_test_role_name(project_id: str, stage: str) -> str:
    """``mlops-<project id>-<stage>-tests``: the name the deploy pipeline's stage tests assume (under
    ROLE_PATH), which the library's DeployPipeline expects exactly, so it cannot be shortened."""
    name = f"mlops-{project_id}-{stage}-tests"
    if len(name) > MAX_ROLE_NAME_LENGTH:
        raise ValueError(
            f"The stage test role name {name!r} is longer than IAM's {MAX_ROLE_NAME_LENGTH} characters ({len(name)}, "
            f"{len(name) - MAX_ROLE_NAME_LENGTH} too many): use a stage name shorter by as many"
        )
    return name


def stage_test_role(
    stack: Stack,
    *,
    project_id: str,
    stage: str,
    principal_arn: str,
    description: str,
    statements: List[iam.PolicyStatement],
    boundary: Optional[iam.IManagedPolicy],
    max_session_duration: Optional[Duration] = None,
) -> iam.Role:
    """The role the deploy pipeline's stage test build (``principal_arn``, STAGE_TEST_PRINCIPAL_ARN)
    assumes to test ``stage``: trusted by that build's role alone, allowed ``statements`` alone."""
    role = iam.Role(
        stack,
        "StageTestRole",
        role_name=stage_test_role_name(project_id, stage),
        assumed_by=iam.ArnPrincipal(principal_arn),
        description=description,
        path=ROLE_PATH,
        permissions_boundary=boundary,
        max_session_duration=max_session_duration,
    )
    iam.Policy(stack, "StageTestPolicy", roles=[role], statements=statements)
    return role
