"""Integration tests of one deployed stage: run by the deploy pipeline after the stage's deployment
(testEachStage), never by the offline unit tests (pyproject.toml: testpaths = tests)."""

from __future__ import annotations

import math

from .endpoint_checks import predict, wait_in_service


def test_endpoint_is_in_service(stage, session):
    status = wait_in_service(session.client("sagemaker"), stage.endpoint_name)
    assert status == "InService", f"endpoint {stage.endpoint_name} in {stage.region} is {status}"


def test_endpoint_predicts_a_number(stage, session):
    prediction = predict(session.client("sagemaker-runtime"), stage.endpoint_name)
    assert math.isfinite(prediction)
