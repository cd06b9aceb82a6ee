"""Helpers the tests share: pipeline arguments and definitions, the buildspec's command, a fake pipeline."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

import yaml

from .conftest import BUCKET, REGION

ROLE = "arn:aws:iam::111111111111:role/service-role/test-pipeline-role"
KMS_KEY = "arn:aws:kms:eu-west-1:111111111111:key/00000000-1111-2222-3333-444444444444"
GROUP = "test-project-p-abc123"
PIPELINE_NAME = "test-project-pipeline"

# What the tests pass to get_pipeline and build_pipeline, besides the session.
PIPELINE_ARGUMENTS = {
    "region": REGION,
    "role": ROLE,
    "default_bucket": BUCKET,
    "kms_key": KMS_KEY,
    "model_package_group_name": GROUP,
    "pipeline_name": PIPELINE_NAME,
}

BUILDSPEC = Path(__file__).resolve().parents[1] / "buildspec.yml"
# Environment variables that the project's CodeBuild project sets for buildspec.yml.
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
]
# Environment variables the buildspec passes on if the project sets them (unset: empty).
OPTIONAL_VARIABLES = ["MODEL_MONITORING", "SUBNET_IDS", "SECURITY_GROUP_IDS"]


def definition_of(pipeline) -> dict:
    return json.loads(pipeline.definition())


def all_steps(definition: dict) -> dict:
    """Steps by name, including those nested in condition branches."""
    found = {}
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop()
        found[step["Name"]] = step
        pending += step.get("Arguments", {}).get("IfSteps", []) + step.get("Arguments", {}).get("ElseSteps", [])
    return found


def buildspec_argv(values: Optional[Mapping[str, str]] = None) -> List[str]:
    """The run_pipeline arguments of the buildspec, with $VARS replaced by their names.

    ``values`` replaces the arguments that are whole variables by values instead
    (e.g. ``OPTIONAL_UNSET``: empty strings, as the shell passes unset variables).
    """
    command = yaml.safe_load(BUILDSPEC.read_text())["phases"]["build"]["commands"][-1]
    words = shlex.split(command.replace('"$', '"'))
    assert words[:3] == ["python", "-m", "ml_pipelines.run_pipeline"]
    return [(values or {}).get(word, word) for word in words[3:]]


class FakeExecution:
    arn = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/p/execution/1"


class FakePipeline:
    """Records upsert() and start() instead of calling SageMaker."""

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


def upsert_and_start_calls(project_name: str, project_id: str, description: str, role_arn: str) -> list:
    """The calls a run makes on the pipeline when it starts it."""
    return [
        (
            "upsert",
            {
                "role_arn": role_arn,
                "description": description,
                "tags": [
                    {"Key": "sagemaker:project-name", "Value": project_name},
                    {"Key": "sagemaker:project-id", "Value": project_id},
                ],
            },
        ),
        ("start", {}),
    ]


# What run_pipeline.main, given the buildspec's arguments, passes to get_pipeline (besides the
# arguments of its own pipeline) and does with the pipeline.
BUILDSPEC_PIPELINE_ARGUMENTS = {
    "region": "AWS_REGION",
    "role": "SAGEMAKER_PIPELINE_ROLE_ARN",
    "default_bucket": "ARTIFACT_BUCKET",
    "kms_key": "ARTIFACT_BUCKET_KMS_ID",
    "model_package_group_name": "MODEL_PACKAGE_GROUP_NAME",
    "pipeline_name": "SAGEMAKER_PIPELINE_NAME",
    "model_monitoring": False,
    "subnet_ids": [],
    "security_group_ids": [],
}
# The optional variables unset, as the shell passes them: no baseline, no VPC.
OPTIONAL_UNSET = {name: "" for name in OPTIONAL_VARIABLES}
# A VPC as the library passes it: SUBNET_IDS and SECURITY_GROUP_IDS, comma-separated.
NETWORK_VARIABLES = {"SUBNET_IDS": "subnet-0a1b2c3d,subnet-4e5f6a7b8c9d0e1f2", "SECURITY_GROUP_IDS": "sg-0123abcd"}
SUBNETS = ["subnet-0a1b2c3d", "subnet-4e5f6a7b8c9d0e1f2"]
SECURITY_GROUPS = ["sg-0123abcd"]
BUILDSPEC_CALLS = upsert_and_start_calls(
    "SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID", "SAGEMAKER_PIPELINE_DESCRIPTION", "SAGEMAKER_PIPELINE_ROLE_ARN"
)


def run_with_fake_pipeline(monkeypatch, run_pipeline, argv: List[str]) -> Tuple[dict, FakePipeline]:
    """Run ``run_pipeline.main(argv)`` with a fake pipeline; return what get_pipeline received, and the fake."""
    fake = FakePipeline()
    received = {}

    def fake_get_pipeline(**kwargs):
        received.update(kwargs)
        return fake

    monkeypatch.setattr(run_pipeline, "get_pipeline", fake_get_pipeline)
    run_pipeline.main(argv)
    return received, fake


# Steps whose Arguments are a SageMaker job request: the jobs that can run in a VPC.
JOB_STEP_TYPES = ("Processing", "Training", "QualityCheck", "ClarifyCheck", "Transform", "Tuning")


def job_networks(definition: dict) -> dict:
    """For every job of the pipeline, by step name: (VpcConfig, inter-container encryption, network isolation).

    Processing jobs (and the checks, which are processing jobs) have them in ``NetworkConfig``;
    training jobs at the top of their request.
    """
    found = {}
    for name, step in all_steps(definition).items():
        if step["Type"] not in JOB_STEP_TYPES:
            continue
        arguments = step["Arguments"]
        network = arguments.get("NetworkConfig", {}) if step["Type"] != "Training" else arguments
        found[name] = (
            network.get("VpcConfig"),
            network.get("EnableInterContainerTrafficEncryption"),
            network.get("EnableNetworkIsolation", False),
        )
    return found
