"""Tests for the command that the buildspec runs, with the pipeline faked."""

from __future__ import annotations

import pytest

from ml_pipelines import run_pipeline

from .helpers import (
    BUILDSPEC_CALLS,
    BUILDSPEC_PIPELINE_ARGUMENTS,
    NETWORK_VARIABLES,
    OPTIONAL_UNSET,
    OPTIONAL_VARIABLES,
    PROJECT_VARIABLES,
    SECURITY_GROUPS,
    SUBNETS,
    buildspec_argv,
    run_with_fake_pipeline,
)


def test_buildspec_passes_every_project_variable():
    argv = buildspec_argv()
    assert sorted(v for v in argv if v.isupper()) == sorted(PROJECT_VARIABLES + OPTIONAL_VARIABLES)


def test_main_upserts_with_project_tags_and_starts(monkeypatch):
    received, fake = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv(OPTIONAL_UNSET))
    assert received == BUILDSPEC_PIPELINE_ARGUMENTS
    assert fake.calls == BUILDSPEC_CALLS


@pytest.mark.parametrize("value, on", [("true", True), ("TRUE", True), ("false", False), ("", False)])
def test_model_monitoring_variable_switches_the_baseline(monkeypatch, value, on):
    received, _ = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv({**OPTIONAL_UNSET, "MODEL_MONITORING": value}))
    assert received == {**BUILDSPEC_PIPELINE_ARGUMENTS, "model_monitoring": on}


def test_network_variables_put_the_jobs_in_the_subnets(monkeypatch):
    received, _ = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv({**OPTIONAL_UNSET, **NETWORK_VARIABLES}))
    assert received == {**BUILDSPEC_PIPELINE_ARGUMENTS, "subnet_ids": SUBNETS, "security_group_ids": SECURITY_GROUPS}


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"SUBNET_IDS": "subnet-xyz"}, "SUBNET_IDS='subnet-xyz': 'subnet-xyz' is not a subnet id"),
        ({"SUBNET_IDS": "subnet-0a1b2c3d", "SECURITY_GROUP_IDS": ""}, "set both or neither"),
    ],
)
def test_bad_network_variables_stop_the_build(monkeypatch, capsys, variables, message):
    with pytest.raises(SystemExit):
        run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv({**OPTIONAL_UNSET, **NETWORK_VARIABLES, **variables}))
    assert message in capsys.readouterr().err
