"""What every deploy app does alike, synthesized with the app's own stack (tests/conftest.py's
build_app, synth_templates and stubbed registry): the stages it deploys, the errors it gives, and
the ECR repositories its roles may pull from (mlops_deploy/ecr.py)."""

from __future__ import annotations

import dataclasses

import pytest

from mlops_deploy.aws_lookups import MissingStageParameterError
from mlops_deploy.ecr import EcrRepository

from .conftest import PROJECT, build_app, stub_registry, synth_templates
from .deploy_stubs import IMAGE_URI, stub_locator


def test_custom_stage_list(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev", "prod"))
    templates = synth_templates(tmp_path, project)
    assert sorted(templates) == ["dev", "prod"]


def test_missing_ssm_parameter_is_a_clear_error(tmp_path):
    registry, _ = stub_registry()
    locator, _ = stub_locator(["dev", "preprod"], missing={"preprod"})
    project = dataclasses.replace(PROJECT, stages=("dev", "preprod"))
    with pytest.raises(MissingStageParameterError, match="/mlops/my-project/preprod/account_id"):
        build_app(project, registry, locator, outdir=str(tmp_path))


@pytest.mark.parametrize(
    "uri, expected",
    [
        (IMAGE_URI, EcrRepository("141502667606", "eu-west-1", "sagemaker-xgboost")),
        (
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/my-model@sha256:abc",
            EcrRepository("111111111111", "us-east-1", "team/my-model"),
        ),
        (
            "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/my-model:latest",
            EcrRepository("111111111111", "cn-north-1", "my-model"),
        ),
    ],
)
def test_ecr_repository_from_image_uri(uri, expected):
    assert EcrRepository.from_image_uri(uri) == expected


def test_non_ecr_image_is_rejected():
    with pytest.raises(ValueError, match="Not an ECR image URI"):
        EcrRepository.from_image_uri("docker.io/library/python:3.11")


def test_app_main_names_missing_variables(monkeypatch, capsys):
    import app

    for name in ("PROJECT_NAME", "PROJECT_ID", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert app.main() == 1
    assert "Missing environment variables: PROJECT_NAME, PROJECT_ID" in capsys.readouterr().err
