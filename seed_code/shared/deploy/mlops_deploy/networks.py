"""The private network of each stage (STAGE_NETWORKS), as the deploy pipeline passes it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from mlops_deploy.errors import SettingsError

# Set by the deploy pipeline when a stage has a network (DeploymentStage.network of the construct
# library): JSON, per stage name the subnets and security groups of the stage's account that the
# stage's model (and the jobs of the stage: monitoring, batch transform) run in, as ids or as
# StringList SSM parameters of that account:
#   {"prod": {"subnetIds": ["subnet-..."], "securityGroupIdsParameter": "/mlops/network/security_group_ids"}}
# Stages it does not name are not in a VPC.
STAGE_NETWORKS_VARIABLE = "STAGE_NETWORKS"
SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")
SSM_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")
# SageMaker's VpcConfig: 1-16 subnets, 1-5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5



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
