"""Project settings that the deploy pipeline's CodeBuild project passes as environment variables."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

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

# Optional: set by the deploy pipeline when a stage has a network (DeploymentStage.network of the
# construct library): JSON, per stage name the subnets and security groups of the stage's account
# that the stage's model (and so its batch transform jobs) run in, as ids or as StringList SSM
# parameters of that account:
#   {"prod": {"subnetIds": ["subnet-..."], "securityGroupIdsParameter": "/mlops/network/security_group_ids"}}
# Stages it does not name are not in a VPC.
STAGE_NETWORKS_VARIABLE = "STAGE_NETWORKS"
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
SSM_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")
# SageMaker's VpcConfig: 1-16 subnets, 1-5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


class SettingsError(ValueError):
    """The environment does not describe a project to deploy."""


@dataclass(frozen=True)
class StageNetwork:
    """The subnets and security groups a stage's model runs in: ids of the stage's account, or the
    names of StringList SSM parameters of that account that hold them (resolved at deployment)."""

    subnet_ids: Tuple[str, ...] = ()
    security_group_ids: Tuple[str, ...] = ()
    subnet_ids_parameter: Optional[str] = None
    security_group_ids_parameter: Optional[str] = None

    def __post_init__(self) -> None:
        if bool(self.subnet_ids) == bool(self.subnet_ids_parameter):
            raise ValueError("give subnet_ids or subnet_ids_parameter, one of them")
        if bool(self.security_group_ids) == bool(self.security_group_ids_parameter):
            raise ValueError("give security_group_ids or security_group_ids_parameter, one of them")

    def describe(self) -> Dict[str, Any]:
        """What the network is, as STAGE_NETWORKS gives it (for names that change with it)."""
        return {
            "subnets": list(self.subnet_ids) or self.subnet_ids_parameter,
            "securityGroups": list(self.security_group_ids) or self.security_group_ids_parameter,
        }


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
    # The private network of each stage that has one (STAGE_NETWORKS); other stages are not in a VPC.
    stage_networks: Mapping[str, StageNetwork] = field(default_factory=dict)

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
        stages = parse_stages(env.get("DEPLOYMENT_STAGES", ""))
        return cls(
            **{name: env[variable] for name, variable in REQUIRED_VARIABLES.items()},
            region=region,
            stages=stages,
            role_permissions_boundary=boundary,
            stage_test_principal_arn=test_principal,
            stage_networks=parse_stage_networks(env.get(STAGE_NETWORKS_VARIABLE, ""), stages),
        )


def parse_stages(value: str) -> Tuple[str, ...]:
    """Parse ``"dev, preprod,prod"`` into ordered, unique stage names (empty means the default)."""
    stages = tuple(stage.strip() for stage in value.split(",") if stage.strip())
    if not stages:
        return DEFAULT_STAGES
    if len(set(stages)) != len(stages):
        raise SettingsError(f"DEPLOYMENT_STAGES lists a stage twice: {value!r}")
    return stages


def parse_stage_networks(value: str, stages: Tuple[str, ...]) -> Dict[str, StageNetwork]:
    """Parse STAGE_NETWORKS (JSON, see STAGE_NETWORKS_VARIABLE); empty means no stage is in a VPC."""
    if not value.strip():
        return {}
    name = STAGE_NETWORKS_VARIABLE
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as error:
        raise SettingsError(f"{name} is not JSON ({error}): {value!r}") from None
    if not isinstance(raw, dict):
        raise SettingsError(
            f"{name} must be a JSON object keyed by stage name, such as "
            '{"prod": {"subnetIds": ["subnet-0a1b2c3d4e5f60718"], "securityGroupIds": ["sg-0a1b2c3d4e5f60718"]}}'
            f", got {value!r}"
        )
    unknown = [stage for stage in raw if stage not in stages]
    if unknown:
        raise SettingsError(
            f"{name} names stage(s) {', '.join(repr(s) for s in unknown)}, which are not deployment stages "
            f"({', '.join(stages)}; DEPLOYMENT_STAGES): {value!r}"
        )
    return {stage: _stage_network(stage, network) for stage, network in raw.items()}


def _stage_network(stage: str, raw: Any) -> StageNetwork:
    def fail(problem: str) -> SettingsError:
        return SettingsError(f"{STAGE_NETWORKS_VARIABLE}: stage {stage!r}: {problem}; its value: {json.dumps(raw)}")

    keys = ("subnetIds", "securityGroupIds", "subnetIdsParameter", "securityGroupIdsParameter")
    if not isinstance(raw, dict):
        raise fail("expected an object with subnetIds or subnetIdsParameter, and securityGroupIds or securityGroupIdsParameter")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise fail(f"unknown key(s) {unknown}; expected some of {list(keys)}")
    lists = {}
    parameters = {}
    for ids_key, pattern, most, example in (
        ("subnetIds", SUBNET_ID, MAX_SUBNETS, "subnet-0a1b2c3d4e5f60718"),
        ("securityGroupIds", SECURITY_GROUP_ID, MAX_SECURITY_GROUPS, "sg-0a1b2c3d4e5f60718"),
    ):
        parameter_key = f"{ids_key}Parameter"
        given = [k for k in (ids_key, parameter_key) if k in raw]
        if len(given) != 1:
            raise fail(f"give {ids_key} or {parameter_key}, one of them")
        if ids_key in raw:
            ids = raw[ids_key]
            if not isinstance(ids, list) or not 1 <= len(ids) <= most:
                raise fail(f"{ids_key} must be a list of 1-{most} ids such as {example!r}, got {json.dumps(ids)}")
            for id_ in ids:
                if not isinstance(id_, str) or not pattern.match(id_):
                    raise fail(
                        f"{ids_key} entry {json.dumps(id_)} is not {'a subnet' if ids_key == 'subnetIds' else 'a security group'} id; "
                        f"use {example.split('-')[0]}- followed by 8 or 17 lowercase hexadecimal digits, such as {example!r}"
                    )
            if len(set(ids)) != len(ids):
                raise fail(f"{ids_key} lists an id twice: {json.dumps(ids)}")
            lists[ids_key] = tuple(ids)
        else:
            parameter = raw[parameter_key]
            problem = ssm_parameter_name_problem(parameter)
            if problem:
                raise fail(
                    f"{parameter_key} {json.dumps(parameter)} is not an SSM parameter name ({problem}); use letters, digits, "
                    "'_', '.', '-' and '/' between levels, starting with '/' when there are levels, such as '/mlops/network/subnet_ids'"
                )
            parameters[parameter_key] = parameter
    return StageNetwork(
        subnet_ids=lists.get("subnetIds", ()),
        security_group_ids=lists.get("securityGroupIds", ()),
        subnet_ids_parameter=parameters.get("subnetIdsParameter"),
        security_group_ids_parameter=parameters.get("securityGroupIdsParameter"),
    )


def ssm_parameter_name_problem(name: Any) -> Optional[str]:
    """Why ``name`` is not an SSM parameter name, or None if it is one."""
    if not isinstance(name, str) or not name.strip():
        return "it is empty" if isinstance(name, str) else "it is not a string"
    if len(name) > 1011:
        return "it is longer than 1011 characters"
    if not SSM_PARAMETER_NAME.match(name):
        return "it holds a character other than a letter, digit, '_', '.', '-' or '/'"
    if "/" in name and not name.startswith("/"):
        return "it has levels but does not start with '/'"
    if "//" in name or name.endswith("/"):
        return "it has an empty level"
    if name.count("/") > 15:
        return "it has more than 15 levels"
    return None
