"""Project settings that the deploy pipeline's CodeBuild project passes as environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

DEFAULT_STAGES = ("dev", "preprod", "prod")

REQUIRED_VARIABLES = {
    "project_name": "PROJECT_NAME",
    "project_id": "PROJECT_ID",
    "model_package_group_name": "MODEL_PACKAGE_GROUP_NAME",
    "artifact_bucket": "ARTIFACT_BUCKET",
    "artifact_bucket_kms_key_arn": "ARTIFACT_BUCKET_KMS_ID",
}


# Optional: the customer managed policy (name, optionally under a path) that the target accounts
# require as permissions boundary on the roles deployments create: the boundary of the library's
# DeploymentTargetPolicy, `<its policy name>-boundary` unless the platform team chose another.
PERMISSIONS_BOUNDARY_VARIABLE = "DEPLOYMENT_ROLE_PERMISSIONS_BOUNDARY"
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}(/[\w+=,.@-]{1,128})*$")

# Optional: set by the deploy pipeline when it tests each stage after its deployment (its option
# testEachStage): the ARN of the role of its test build. Each stage then gets a role for that
# build (see batch_stack.py), which buildspec-test.yml assumes.
STAGE_TEST_PRINCIPAL_VARIABLE = "STAGE_TEST_PRINCIPAL_ARN"
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class SettingsError(ValueError):
    """The environment does not describe a project to deploy."""


@dataclass(frozen=True)
class ProjectSettings:
    """Everything the app needs to know about the project, read once at start-up."""

    project_name: str
    project_id: str
    model_package_group_name: str
    artifact_bucket: str
    # KMS key (in the DEV account) that encrypts the artifact bucket, model data included.
    artifact_bucket_kms_key_arn: str
    # Region of the DEV account, where the model registry and SSM parameters are.
    region: str
    stages: Tuple[str, ...] = DEFAULT_STAGES
    # Name of the permissions boundary policy every role of a stage gets (None: no boundary).
    role_permissions_boundary: Optional[str] = None
    # ARN of the deploy pipeline's stage test build role (None: no stage tests, no test role).
    stage_test_principal_arn: Optional[str] = None

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ProjectSettings":
        """Read the settings from ``env`` (default: ``os.environ``), naming every missing variable."""
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED_VARIABLES.values() if not env.get(name)]
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            missing.append("AWS_REGION")
        if missing:
            raise SettingsError(
                "Missing environment variables: " + ", ".join(missing) + ". "
                "The deploy pipeline's CodeBuild project sets them; export them to synthesize locally."
            )
        boundary = env.get(PERMISSIONS_BOUNDARY_VARIABLE) or None
        if boundary is not None and not POLICY_NAME.match(boundary):
            raise SettingsError(
                f"{PERMISSIONS_BOUNDARY_VARIABLE} {boundary!r} is not a customer managed policy name: "
                "use 1-128 letters, digits or +=,.@_- (after an optional path such as 'boundaries/'), not an ARN"
            )
        test_principal = env.get(STAGE_TEST_PRINCIPAL_VARIABLE) or None
        if test_principal is not None and not ROLE_ARN.match(test_principal):
            raise SettingsError(
                f"{STAGE_TEST_PRINCIPAL_VARIABLE} {test_principal!r} is not an IAM role ARN "
                "(arn:<partition>:iam::<account>:role/<name>); the deploy pipeline sets it to its test build's role"
            )
        return cls(
            **{field: env[name] for field, name in REQUIRED_VARIABLES.items()},
            region=region,
            stages=parse_stages(env.get("DEPLOYMENT_STAGES", "")),
            role_permissions_boundary=boundary,
            stage_test_principal_arn=test_principal,
        )


def parse_stages(value: str) -> Tuple[str, ...]:
    """Parse ``"dev, preprod,prod"`` into ordered, unique stage names (empty means the default)."""
    stages = tuple(stage.strip() for stage in value.split(",") if stage.strip())
    if not stages:
        return DEFAULT_STAGES
    if len(set(stages)) != len(stages):
        raise SettingsError(f"DEPLOYMENT_STAGES lists a stage twice: {value!r}")
    return stages
