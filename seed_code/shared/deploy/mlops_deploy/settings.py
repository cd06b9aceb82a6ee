"""The project settings that the deploy pipeline's CodeBuild project passes as environment
variables, as every deploy app reads them; each app's own settings.py adds its own."""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from mlops_deploy.errors import SettingsError
from mlops_deploy.networks import STAGE_NETWORKS_VARIABLE, parse_stage_networks

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
# testEachStage): the ARN of the role of its stage test build. Each app checks it (check_test_principal).
STAGE_TEST_PRINCIPAL_VARIABLE = "STAGE_TEST_PRINCIPAL_ARN"

# Set by the deploy pipeline (its bootstrapQualifier): the qualifier of the CDK bootstrap stacks in
# the stage accounts. A stage in another region than the project's publishes its model data to the
# staging bucket of that bootstrap (see regions.py), which the qualifier names.
BOOTSTRAP_QUALIFIER_VARIABLE = "BOOTSTRAP_QUALIFIER"
DEFAULT_BOOTSTRAP_QUALIFIER = "hnb659fds"
# As the CDK bootstrap template (and the deploy pipeline) takes it.
BOOTSTRAP_QUALIFIER = re.compile(r"^[A-Za-z0-9_-]{1,10}$")


def read_environment(
    env: Optional[Mapping[str, str]],
    check_test_principal: Callable[[str], None],
    read_more: Optional[Callable[[Mapping[str, str]], Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    """The settings every deploy app has, as keyword arguments of its ProjectSettings, read from
    ``env`` (default: ``os.environ``), naming every missing variable. ``check_test_principal``
    raises SettingsError if the STAGE_TEST_PRINCIPAL_ARN given is not one the app takes;
    ``read_more`` reads the app's own settings (after the stages, before the stage networks)."""
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
    if test_principal is not None:
        check_test_principal(test_principal)
    qualifier = env.get(BOOTSTRAP_QUALIFIER_VARIABLE) or DEFAULT_BOOTSTRAP_QUALIFIER
    if not BOOTSTRAP_QUALIFIER.match(qualifier):
        raise SettingsError(
            f"{BOOTSTRAP_QUALIFIER_VARIABLE} {qualifier!r} is not a CDK bootstrap qualifier: use 1-10 letters, "
            "digits, '_' or '-', as given to `cdk bootstrap --qualifier` (the deploy pipeline's bootstrapQualifier)"
        )
    stages = parse_stages(env.get("DEPLOYMENT_STAGES", ""))
    more = read_more(env) if read_more else {}
    return {
        **{name: env[variable] for name, variable in REQUIRED_VARIABLES.items()},
        "region": region,
        "stages": stages,
        "role_permissions_boundary": boundary,
        "bootstrap_qualifier": qualifier,
        **more,
        "stage_test_principal_arn": test_principal,
        "stage_networks": parse_stage_networks(env.get(STAGE_NETWORKS_VARIABLE, ""), stages),
    }


def parse_stages(value: str) -> Tuple[str, ...]:
    """Parse ``"dev, preprod,prod"`` into ordered, unique stage names (empty means the default)."""
    stages = tuple(stage.strip() for stage in value.split(",") if stage.strip())
    if not stages:
        return DEFAULT_STAGES
    if len(set(stages)) != len(stages):
        raise SettingsError(f"DEPLOYMENT_STAGES lists a stage twice: {value!r}")
    return stages
