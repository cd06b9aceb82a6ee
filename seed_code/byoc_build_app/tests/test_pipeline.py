"""Tests of this repository's pipeline: the project's own image trains, evaluates and serves."""

from __future__ import annotations

import re

import pytest

from ml_pipelines.abalone import pipeline as abalone

from .helpers import PIPELINE_ARGUMENTS, SECURITY_GROUPS, SUBNETS, all_steps, definition_of, job_networks

IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/test-project:abc123"


def test_the_project_image_trains_evaluates_and_serves(offline_session):
    found = all_steps(
        definition_of(abalone.get_pipeline(**PIPELINE_ARGUMENTS, image_uri=IMAGE, sagemaker_session=offline_session))
    )
    algorithm = found["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == IMAGE
    assert {m["Name"] for m in algorithm["MetricDefinitions"]} == {"train:rmse", "validation:rmse"}
    assert found["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]["ImageUri"] == IMAGE
    register = found["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["Image"] == IMAGE


def test_metric_definitions_match_the_training_log():
    # The lines xgboost.train prints with verbose_eval, as container/program/train.py runs it.
    line = "[49]\ttrain-rmse:1.23456\tvalidation-rmse:2.34567"
    values = {m["Name"]: re.search(m["Regex"], line).group(1) for m in abalone.METRIC_DEFINITIONS}
    assert values == {"train:rmse": "1.23456", "validation:rmse": "2.34567"}


@pytest.mark.parametrize("model_monitoring", [False, True])
def test_with_a_network_every_job_runs_in_the_subnets(offline_session, model_monitoring):
    definition = definition_of(
        abalone.get_pipeline(
            **PIPELINE_ARGUMENTS,
            image_uri=IMAGE, model_monitoring=model_monitoring,
            subnet_ids=SUBNETS,
            security_group_ids=SECURITY_GROUPS,
            sagemaker_session=offline_session,
        )
    )
    networks = job_networks(definition)
    assert len(networks) == (4 if model_monitoring else 3)
    for name, (vpc_config, encrypted, isolated) in networks.items():
        assert vpc_config == {"Subnets": SUBNETS, "SecurityGroupIds": SECURITY_GROUPS}, name
        assert encrypted is True, name
        assert isolated is (name == "DataQualityBaseline"), name
