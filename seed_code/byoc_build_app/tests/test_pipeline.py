"""Tests that build the pipeline definition offline and check its structure."""

from __future__ import annotations

import json

import pytest

from ml_pipelines.abalone import pipeline as abalone
from ml_pipelines.run_pipeline import project_tags

from .conftest import BUCKET, REGION

ROLE = "arn:aws:iam::111111111111:role/service-role/test-pipeline-role"
KMS_KEY = "arn:aws:kms:eu-west-1:111111111111:key/00000000-1111-2222-3333-444444444444"
GROUP = "test-project-p-abc123"
IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/test-project:abc123"


@pytest.fixture
def definition(offline_session) -> dict:
    pipeline = abalone.get_pipeline(
        region=REGION,
        role=ROLE,
        default_bucket=BUCKET,
        kms_key=KMS_KEY,
        model_package_group_name=GROUP,
        pipeline_name="test-project-pipeline",
        image_uri=IMAGE,
        sagemaker_session=offline_session,
    )
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


def test_steps_and_their_order(definition):
    steps = all_steps(definition)
    assert {name: step["Type"] for name, step in steps.items()} == {
        "PreprocessAbaloneData": "Processing",
        "TrainAbaloneModel": "Training",
        "EvaluateAbaloneModel": "Processing",
        "CheckMseEvaluation": "Condition",
        "RegisterAbaloneModel-RegisterModel": "RegisterModel",
        "MseAboveThresholdFail": "Fail",
    }
    condition = steps["CheckMseEvaluation"]["Arguments"]
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


def test_registration_waits_for_manual_approval(definition):
    register = all_steps(definition)["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == GROUP
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == IMAGE
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
    steps = all_steps(definition)
    for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel"):
        assert steps[name]["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY
    training = steps["TrainAbaloneModel"]["Arguments"]
    assert training["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/test-project-pipeline/models",
        "KmsKeyId": KMS_KEY,
    }
    assert training["RoleArn"] == ROLE


def test_training_and_evaluation_use_the_project_image(definition):
    steps = all_steps(definition)
    algorithm = steps["TrainAbaloneModel"]["Arguments"]["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == IMAGE
    assert {m["Name"] for m in algorithm["MetricDefinitions"]} == {"train:rmse", "validation:rmse"}
    assert steps["EvaluateAbaloneModel"]["Arguments"]["AppSpecification"]["ImageUri"] == IMAGE


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


def test_project_tags():
    assert project_tags("my-project", "p-123") == [
        {"Key": "sagemaker:project-name", "Value": "my-project"},
        {"Key": "sagemaker:project-id", "Value": "p-123"},
    ]
