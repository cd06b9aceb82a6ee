"""Project settings that the deploy pipeline's CodeBuild project passes as environment variables.

What the deploy apps share (the variables every one reads, STAGE_NETWORKS) is in
``mlops_deploy/settings.py`` and ``mlops_deploy/networks.py``; here is what this app adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from mlops_deploy.errors import SettingsError
from mlops_deploy.networks import STAGE_NETWORKS_VARIABLE, StageNetwork  # noqa: F401 (the app's names for them)
from mlops_deploy.settings import (  # noqa: F401 (the app's names for them)
    DEFAULT_BOOTSTRAP_QUALIFIER,
    DEFAULT_STAGES,
    PERMISSIONS_BOUNDARY_VARIABLE,
    STAGE_TEST_PRINCIPAL_VARIABLE,
    read_environment,
)

# STAGE_TEST_PRINCIPAL_ARN: the ARN of the role of the deploy pipeline's test build. Each stage then
# gets a role for that build (see batch_stack.py), which buildspec-test.yml assumes.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


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
    # Qualifier of the CDK bootstrap stacks in the stage accounts (BOOTSTRAP_QUALIFIER).
    bootstrap_qualifier: str = DEFAULT_BOOTSTRAP_QUALIFIER
    # ARN of the deploy pipeline's stage test build role (None: no stage tests, no test role).
    stage_test_principal_arn: Optional[str] = None
    # The private network of each stage that has one (STAGE_NETWORKS); other stages are not in a VPC.
    stage_networks: Mapping[str, StageNetwork] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ProjectSettings":
        """Read the settings from ``env`` (default: ``os.environ``), naming every missing variable."""
        return cls(**read_environment(env, check_test_principal))


def check_test_principal(test_principal: str) -> None:
    """Raise SettingsError if STAGE_TEST_PRINCIPAL_ARN is not the ARN of an IAM role."""
    if not ROLE_ARN.match(test_principal):
        raise SettingsError(
            f"{STAGE_TEST_PRINCIPAL_VARIABLE} {test_principal!r} is not an IAM role ARN "
            "(arn:<partition>:iam::<account>:role/<name>); the deploy pipeline sets it to its test build's role"
        )
