"""Tests that build the pipeline definition offline, for any image, and check its structure."""

from __future__ import annotations

import pytest

from ml_pipelines.abalone import steps

from .conftest import BUCKET
from .helpers import GROUP, KMS_KEY, PIPELINE_ARGUMENTS, PIPELINE_NAME, ROLE, all_steps, definition_of

IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/some-xgboost:1"


@pytest.fixture
def definition(offline_session) -> dict:
    return definition_of(
        steps.build_pipeline(**PIPELINE_ARGUMENTS, image_uri=IMAGE, sagemaker_session=offline_session)
    )


def test_steps_and_their_order(definition):
    found = all_steps(definition)
    assert {name: step["Type"] for name, step in found.items()} == {
        "PreprocessAbaloneData": "Processing",
        "TrainAbaloneModel": "Training",
        "EvaluateAbaloneModel": "Processing",
        "CheckMseEvaluation": "Condition",
        "RegisterAbaloneModel-RegisterModel": "RegisterModel",
        "MseAboveThresholdFail": "Fail",
    }
    condition = found["CheckMseEvaluation"]["Arguments"]
    assert [s["Name"] for s in condition["IfSteps"]] == ["RegisterAbaloneModel-RegisterModel"]
    assert [s["Name"] for s in condition["ElseSteps"]] == ["MseAboveThresholdFail"]


def test_parameters_and_defaults(definition):
    params = {p["Name"]: (p["Type"], p.get("DefaultValue")) for p in definition["Parameters"]}
    assert params == {
        "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
        "ProcessingInstanceCount": ("Integer", 1),
        "TrainingInstanceType": ("String", "ml.m5.xlarge"),
        "InputDataUrl": ("String", "s3://sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv"),
        "MseThreshold": ("Float", 6.0),
    }


def test_the_image_trains_evaluates_and_serves(definition):
    found = all_steps(definition)
    assert found["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert found["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]["ImageUri"] == IMAGE
    register = found["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["Image"] == IMAGE


def test_registration_waits_for_manual_approval(definition):
    register = all_steps(definition)["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == GROUP
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainAbaloneModel.ModelArtifacts.S3ModelArtifacts"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"


def test_condition_compares_evaluated_mse_with_threshold(definition):
    condition = all_steps(definition)["CheckMseEvaluation"]["Arguments"]["Conditions"][0]
    assert condition["Type"] == "LessThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "regression_metrics.mse.value"
    assert condition["RightValue"] == {"Get": "Parameters.MseThreshold"}
    evaluate = all_steps(definition)["EvaluateAbaloneModel"]
    assert evaluate["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


def test_outputs_are_encrypted_with_the_project_key(definition):
    found = all_steps(definition)
    for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel"):
        assert found[name]["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY
    training = found["TrainAbaloneModel"]["Arguments"]
    assert training["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/{PIPELINE_NAME}/models",
        "KmsKeyId": KMS_KEY,
    }
    assert training["RoleArn"] == ROLE


def test_scripts_are_uploaded_to_the_artifact_bucket(definition, offline_session):
    uploaded = {u["local_path"].rsplit("/", 1)[-1]: u for u in offline_session.recorded_uploads}
    assert set(uploaded) == {"preprocess.py", "evaluate.py"}
    assert all(u["s3_uri"].startswith(f"s3://{BUCKET}/") for u in uploaded.values())
    preprocess_args = all_steps(definition)["PreprocessAbaloneData"]["Arguments"]
    assert preprocess_args["AppSpecification"]["ContainerArguments"] == [
        "--input-data",
        {"Get": "Parameters.InputDataUrl"},
    ]
    assert "sagemaker-scikit-learn:1.2-1" in preprocess_args["AppSpecification"]["ImageUri"]
