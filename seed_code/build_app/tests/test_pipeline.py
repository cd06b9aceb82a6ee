"""Tests of this repository's pipeline: the built-in XGBoost algorithm trains, evaluates and serves."""

from __future__ import annotations

from ml_pipelines.abalone import pipeline as abalone

from .conftest import REGION
from .helpers import PIPELINE_ARGUMENTS, all_steps, definition_of


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
