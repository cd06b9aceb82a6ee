"""Tests for what a run does with the pipeline it builds, with the pipeline faked."""

from __future__ import annotations

import json

import pytest

from ml_pipelines import runner

from .helpers import FakePipeline, upsert_and_start_calls

ARGV = [
    "--region", "eu-west-1",
    "--pipeline-name", "p",
    "--role-arn", "arn:aws:iam::111111111111:role/r",
    "--default-bucket", "b",
    "--model-package-group-name", "g",
    "--project-name", "my-project",
    "--project-id", "p-123",
]  # fmt: skip


def test_project_tags():
    assert runner.project_tags("my-project", "p-123") == [
        {"Key": "sagemaker:project-name", "Value": "my-project"},
        {"Key": "sagemaker:project-id", "Value": "p-123"},
    ]


@pytest.mark.parametrize("kms_key", [[], ["--kms-key", ""]])
def test_pipeline_arguments_without_a_key_leave_encryption_to_the_bucket(kms_key):
    args = runner.argument_parser().parse_args(ARGV + kms_key)
    assert runner.pipeline_arguments(args) == {
        "region": "eu-west-1",
        "role": "arn:aws:iam::111111111111:role/r",
        "default_bucket": "b",
        "kms_key": None,
        "model_package_group_name": "g",
        "pipeline_name": "p",
        "model_monitoring": False,
        "subnet_ids": [],
        "security_group_ids": [],
    }


@pytest.mark.parametrize(
    "value, on",
    [("true", True), ("True", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("", False)],
)
def test_model_monitoring_flag(value, on):
    args = runner.argument_parser().parse_args(ARGV + ["--model-monitoring", value])
    assert runner.pipeline_arguments(args)["model_monitoring"] is on


def test_model_monitoring_flag_rejects_other_values(capsys):
    with pytest.raises(SystemExit):
        runner.argument_parser().parse_args(ARGV + ["--model-monitoring", "enabled"])
    assert "expected true or false, got 'enabled'" in capsys.readouterr().err


def test_upserts_with_project_tags_and_starts():
    fake = FakePipeline()
    runner.upsert_and_start(fake, runner.argument_parser().parse_args(ARGV + ["--pipeline-description", "d"]))
    assert fake.calls == upsert_and_start_calls("my-project", "p-123", "d", "arn:aws:iam::111111111111:role/r")


def test_no_start_only_upserts(capsys):
    fake = FakePipeline()
    runner.upsert_and_start(fake, runner.argument_parser().parse_args(ARGV + ["--no-start", "--print-definition"]))
    assert [name for name, _ in fake.calls] == ["upsert"]
    assert json.loads(capsys.readouterr().out) == {}


# --- Private networking (SUBNET_IDS and SECURITY_GROUP_IDS) -------------------------------------


@pytest.mark.parametrize(
    "subnets, groups, expected_subnets, expected_groups",
    [
        ("subnet-0a1b2c3d", "sg-0123abcd", ["subnet-0a1b2c3d"], ["sg-0123abcd"]),
        (
            "subnet-0a1b2c3d, subnet-0123456789abcdef0",
            "sg-0123abcd,sg-0123456789abcdef0",
            ["subnet-0a1b2c3d", "subnet-0123456789abcdef0"],
            ["sg-0123abcd", "sg-0123456789abcdef0"],
        ),
        ("", "", [], []),
        (" ", "", [], []),
    ],
)
def test_network_ids(subnets, groups, expected_subnets, expected_groups):
    args = runner.argument_parser().parse_args(ARGV + ["--subnet-ids", subnets, "--security-group-ids", groups])
    arguments = runner.pipeline_arguments(args)
    assert (arguments["subnet_ids"], arguments["security_group_ids"]) == (expected_subnets, expected_groups)


@pytest.mark.parametrize(
    "subnets, groups, message",
    [
        ("subnet-0A1B2C3D", "sg-0123abcd", "SUBNET_IDS='subnet-0A1B2C3D': 'subnet-0A1B2C3D' is not a subnet id"),
        ("subnet-0a1b2c3", "sg-0123abcd", "'subnet-0a1b2c3' is not a subnet id"),
        ("subnet-0123456789abcdef01", "sg-0123abcd", "'subnet-0123456789abcdef01' is not a subnet id"),
        ("sg-0123abcd", "sg-0123abcd", "SUBNET_IDS='sg-0123abcd': 'sg-0123abcd' is not a subnet id"),
        ("subnet-0a1b2c3d,", "sg-0123abcd", "SUBNET_IDS='subnet-0a1b2c3d,': '' is not a subnet id"),
        ("subnet-0a1b2c3d", "default", "SECURITY_GROUP_IDS='default': 'default' is not a security group id"),
        ("subnet-0a1b2c3d", "subnet-0a1b2c3d", "'subnet-0a1b2c3d' is not a security group id"),
        ("subnet-0a1b2c3d", ",".join(f"sg-0000000{i}" for i in range(6)), "6 security groups, SageMaker takes at most 5"),
        ("subnet-0a1b2c3d", "", "set both or neither (got SUBNET_IDS='subnet-0a1b2c3d', SECURITY_GROUP_IDS='')"),
        ("", "sg-0123abcd", "set both or neither (got SUBNET_IDS='', SECURITY_GROUP_IDS='sg-0123abcd')"),
    ],
)
def test_bad_network_ids_are_refused_naming_the_variable(capsys, subnets, groups, message):
    with pytest.raises(SystemExit):
        runner.argument_parser().parse_args(ARGV + ["--subnet-ids", subnets, "--security-group-ids", groups])
    assert message in capsys.readouterr().err


def test_a_subnet_alone_is_refused_without_the_groups_argument(capsys):
    with pytest.raises(SystemExit):
        runner.argument_parser().parse_args(ARGV + ["--subnet-ids", "subnet-0a1b2c3d"])
    assert "SUBNET_IDS and SECURITY_GROUP_IDS" in capsys.readouterr().err
