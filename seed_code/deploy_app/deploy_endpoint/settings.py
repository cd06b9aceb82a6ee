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

# Optional: `true` adds a data-quality monitoring schedule to the endpoint of every stage that
# captures data (config/<stage>.yml `monitoring` overrides it per stage). The approved model
# package must carry a data-quality baseline: the model build's MODEL_MONITORING=true registers one.
MODEL_MONITORING_VARIABLE = "MODEL_MONITORING"
TRUE_VALUES = ("true", "1", "yes", "on")

# Set by the deploy pipeline (testEachStage) to the ARN of the role of its stage test project: each
# stage stack then creates the role mlops-<project id>-<stage>-tests that this principal alone may
# assume, to run integration_tests/ (buildspec-test.yml) against the stage's endpoint.
IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[\w-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+$")
FALSE_VALUES = ("false", "0", "no", "off", "")


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
    # Monitor the endpoints' data quality, unless a stage's YAML says otherwise.
    model_monitoring: bool = False
    # ARN of the deploy pipeline's stage test project role (None: no test role in the stages).
    stage_test_principal_arn: Optional[str] = None
    # The private network of each stage that has one (STAGE_NETWORKS); other stages are not in a VPC.
    stage_networks: Mapping[str, StageNetwork] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ProjectSettings":
        """Read the settings from ``env`` (default: ``os.environ``), naming every missing variable."""
        return cls(**read_environment(env, check_test_principal, read_more=_read_monitoring))


def check_test_principal(test_principal: str) -> None:
    """Raise SettingsError if STAGE_TEST_PRINCIPAL_ARN is not the ARN of an IAM principal."""
    if not IAM_PRINCIPAL_ARN.match(test_principal):
        raise SettingsError(
            f"{STAGE_TEST_PRINCIPAL_VARIABLE} {test_principal!r} is not the ARN of an IAM role "
            "(arn:<partition>:iam::<account>:role/<name>); the deploy pipeline sets it when testEachStage is on"
        )


def _read_monitoring(env: Mapping[str, str]) -> dict:
    return {"model_monitoring": parse_flag(MODEL_MONITORING_VARIABLE, env.get(MODEL_MONITORING_VARIABLE, ""))}


def parse_flag(name: str, value: str) -> bool:
    """``true``/``false`` (any case; also 1/0, yes/no, on/off; empty is false) as a bool."""
    normalized = value.strip().lower()
    if normalized in TRUE_VALUES:
        return True
    if normalized in FALSE_VALUES:
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")
