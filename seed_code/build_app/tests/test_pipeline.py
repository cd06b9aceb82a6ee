"""Tests of this repository's pipeline: the built-in XGBoost algorithm trains, evaluates and serves."""

from __future__ import annotations

import pytest

from ml_pipelines.abalone import pipeline as abalone

from .conftest import REGION
from .helpers import PIPELINE_ARGUMENTS, SECURITY_GROUPS, SUBNETS, all_steps, definition_of, job_networks


def test_built_in_xgboost_of_the_region_trains_evaluates_and_serves(offline_session):
    found = all_steps(definition_of(abalone.get_pipeline(**PIPELINE_ARGUMENTS, sagemaker_session=offline_session)))
    algorithm = found["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]
    image = algorithm["TrainingImage"]
    assert image.endswith(f".dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1")
    # The built-in algorithm reports its metrics itself.
    assert "MetricDefinitions" not in algorithm
    assert found["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]["ImageUri"] == image
    register = found["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["Image"] == image


@pytest.mark.parametrize("model_monitoring", [False, True])
def test_with_a_network_every_job_runs_in_the_subnets(offline_session, model_monitoring):
    definition = definition_of(
        abalone.get_pipeline(
            **PIPELINE_ARGUMENTS,
            model_monitoring=model_monitoring,
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
