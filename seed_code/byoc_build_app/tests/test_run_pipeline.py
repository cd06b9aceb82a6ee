"""Tests for the command that the buildspec runs, with the pipeline faked."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from ml_pipelines import run_pipeline

BUILDSPEC = Path(__file__).resolve().parents[1] / "buildspec.yml"
PROJECT_VARIABLES = [
    "SAGEMAKER_PROJECT_NAME",
    "SAGEMAKER_PROJECT_ID",
    "MODEL_PACKAGE_GROUP_NAME",
    "AWS_REGION",
    "SAGEMAKER_PIPELINE_NAME",
    "SAGEMAKER_PIPELINE_DESCRIPTION",
    "SAGEMAKER_PIPELINE_ROLE_ARN",
    "ARTIFACT_BUCKET",
    "ARTIFACT_BUCKET_KMS_ID",
    "ECR_REPO_URI",
]


class FakeExecution:
    arn = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p/execution/1"


class FakePipeline:
    def __init__(self):
        self.calls = []

    def definition(self):
        return "{}"

    def upsert(self, **kwargs):
        self.calls.append(("upsert", kwargs))
        return {"PipelineArn": "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p"}

    def start(self):
        self.calls.append(("start", {}))
        return FakeExecution()


def buildspec_argv() -> list:
    """The run_pipeline arguments of the buildspec, with $VARS replaced by their names."""
    command = yaml.safe_load(BUILDSPEC.read_text())["phases"]["build"]["commands"][-1]
    words = shlex.split(command.replace('"$', '"'))
    assert words[:3] == ["python", "-m", "ml_pipelines.run_pipeline"]
    return words[3:]


def test_buildspec_passes_every_project_variable():
    argv = buildspec_argv()
    image = argv[argv.index("--image-uri") + 1]
    # Train with the image that buildspec-docker.yml pushed for this very commit.
    assert image == "ECR_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION"
    assert sorted(v.split(":")[0] for v in argv if v.isupper()) == sorted(PROJECT_VARIABLES)


def test_main_upserts_with_project_tags_and_starts(monkeypatch):
    fake = FakePipeline()
    received = {}

    def fake_get_pipeline(**kwargs):
        received.update(kwargs)
        return fake

    monkeypatch.setattr(run_pipeline, "get_pipeline", fake_get_pipeline)

    run_pipeline.main(buildspec_argv())

    assert received == {
        "region": "AWS_REGION",
        "role": "SAGEMAKER_PIPELINE_ROLE_ARN",
        "default_bucket": "ARTIFACT_BUCKET",
        "kms_key": "ARTIFACT_BUCKET_KMS_ID",
        "model_package_group_name": "MODEL_PACKAGE_GROUP_NAME",
        "pipeline_name": "SAGEMAKER_PIPELINE_NAME",
        "image_uri": "ECR_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
    }
    assert fake.calls == [
        (
            "upsert",
            {
                "role_arn": "SAGEMAKER_PIPELINE_ROLE_ARN",
                "description": "SAGEMAKER_PIPELINE_DESCRIPTION",
                "tags": [
                    {"Key": "sagemaker:project-name", "Value": "SAGEMAKER_PROJECT_NAME"},
                    {"Key": "sagemaker:project-id", "Value": "SAGEMAKER_PROJECT_ID"},
                ],
            },
        ),
        ("start", {}),
    ]


def test_no_start_only_upserts(monkeypatch):
    fake = FakePipeline()
    monkeypatch.setattr(run_pipeline, "get_pipeline", lambda **_: fake)

    run_pipeline.main(buildspec_argv() + ["--no-start"])

    assert [name for name, _ in fake.calls] == ["upsert"]
