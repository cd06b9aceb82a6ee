"""Shared fixtures: a random Abalone-like data set and an AWS-free SageMaker session."""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.endpoint
import numpy as np
import pandas as pd
import pytest
import sagemaker.s3
import sagemaker.session
from sagemaker.workflow.pipeline_context import PipelineSession

REGION = "eu-west-1"
BUCKET = "mlops-test-project-111111111111"


@pytest.fixture(autouse=True)
def no_aws_calls(monkeypatch):
    """Fail any test that would send a request to AWS, naming the operation."""

    def refuse(self, operation_model, request_dict):
        raise AssertionError(f"test tried to call AWS: {operation_model.name}")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", refuse)


def make_abalone_frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Random rows with the raw Abalone layout (sex letter, 7 measurements, rings)."""
    rng = np.random.default_rng(seed)
    length = rng.uniform(0.1, 0.8, rows)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["M", "F", "I"], rows),
            "length": length,
            "diameter": length * 0.8,
            "height": length * 0.3,
            "whole_weight": length * 1.5,
            "shucked_weight": length * 0.6,
            "viscera_weight": length * 0.3,
            "shell_weight": length * 0.4,
        }
    )
    # Rings grow with size plus noise, so a model has something to learn.
    frame["rings"] = np.round(3 + 20 * length + rng.normal(0, 1, rows)).astype(int)
    return frame


@pytest.fixture
def abalone_csv(tmp_path: Path) -> Path:
    """A header-less raw CSV like the public abalone.csv."""
    path = tmp_path / "raw" / "abalone.csv"
    path.parent.mkdir()
    make_abalone_frame().to_csv(path, header=False, index=False)
    return path


@pytest.fixture
def offline_session(monkeypatch) -> PipelineSession:
    """A PipelineSession with fake credentials whose S3 work is recorded, not done.

    Building a pipeline uploads the processing scripts to S3 and checks that the
    default bucket exists; both are replaced here so no request leaves the machine.
    """
    uploads = []

    def fake_upload(local_path, desired_s3_uri, kms_key=None, sagemaker_session=None, **_):
        uploads.append({"local_path": local_path, "s3_uri": desired_s3_uri, "kms_key": kms_key})
        return f"{desired_s3_uri}/{Path(local_path).name}"

    monkeypatch.setattr(sagemaker.s3.S3Uploader, "upload", staticmethod(fake_upload))
    monkeypatch.setattr(sagemaker.session.Session, "default_bucket", lambda self: BUCKET)
    boto_session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    session = PipelineSession(boto_session=boto_session, default_bucket=BUCKET)
    session.recorded_uploads = uploads
    return session
