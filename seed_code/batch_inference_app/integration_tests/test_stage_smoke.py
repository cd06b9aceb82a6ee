"""Smoke test of the deployed stage (run by buildspec-test.yml with the stage's test role assumed)."""

from __future__ import annotations

import os

import boto3

from integration_tests.stage_checks import StageUnderTest, check_stage


def test_the_stage_pipeline_exists_and_scores_with_the_deployed_model():
    stage = StageUnderTest.from_env(os.environ)
    client = boto3.Session(region_name=stage.region).client("sagemaker")
    assert check_stage(client, stage) == []
