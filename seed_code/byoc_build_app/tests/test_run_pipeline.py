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

# The image that buildspec-docker.yml pushed for this very commit.
IMAGE = "ECR_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION"


def test_buildspec_passes_every_project_variable_and_the_image_of_this_commit():
    argv = buildspec_argv()
    assert argv[argv.index("--image-uri") + 1] == IMAGE
    assert sorted(v.split(":")[0] for v in argv if v.isupper()) == sorted(
        PROJECT_VARIABLES + OPTIONAL_VARIABLES + ["ECR_REPO_URI"]
    )


def test_main_trains_with_the_image_of_this_commit_upserts_with_project_tags_and_starts(monkeypatch):
    received, fake = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv(OPTIONAL_UNSET))
    assert received == {**BUILDSPEC_PIPELINE_ARGUMENTS, "image_uri": IMAGE}
    assert fake.calls == BUILDSPEC_CALLS


def test_the_image_is_required(capsys):
    argv = buildspec_argv(OPTIONAL_UNSET)
    at = argv.index("--image-uri")
    with pytest.raises(SystemExit):
        run_pipeline.parse_args(argv[:at] + argv[at + 2 :])
    assert "--image-uri" in capsys.readouterr().err


def test_model_monitoring_variable_switches_the_baseline(monkeypatch):
    received, _ = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv({**OPTIONAL_UNSET, "MODEL_MONITORING": "true"}))
    assert received == {**BUILDSPEC_PIPELINE_ARGUMENTS, "image_uri": IMAGE, "model_monitoring": True}


def test_network_variables_put_the_jobs_in_the_subnets(monkeypatch):
    received, _ = run_with_fake_pipeline(monkeypatch, run_pipeline, buildspec_argv({**OPTIONAL_UNSET, **NETWORK_VARIABLES}))
    assert received == {
        **BUILDSPEC_PIPELINE_ARGUMENTS,
        "image_uri": IMAGE,
        "subnet_ids": SUBNETS,
        "security_group_ids": SECURITY_GROUPS,
    }


def test_bad_network_variables_stop_the_build(monkeypatch, capsys):
    argv = buildspec_argv({**OPTIONAL_UNSET, **NETWORK_VARIABLES, "SECURITY_GROUP_IDS": "sg-0123abcd,default"})
    with pytest.raises(SystemExit):
        run_with_fake_pipeline(monkeypatch, run_pipeline, argv)
    assert "SECURITY_GROUP_IDS='sg-0123abcd,default': 'default' is not a security group id" in capsys.readouterr().err
