"""Tests that build the pipeline definition offline, for any image, and check its structure."""

from __future__ import annotations

import json

import pytest

from ml_pipelines.abalone import steps

from .conftest import BUCKET
from .helpers import (
    GROUP,
    KMS_KEY,
    PIPELINE_ARGUMENTS,
    PIPELINE_NAME,
    ROLE,
    SECURITY_GROUPS,
    SUBNETS,
    all_steps,
    definition_of,
    job_networks,
)

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


# --- Model monitoring (MODEL_MONITORING=true): the data-quality baseline -------------------------


@pytest.fixture
def monitored(offline_session) -> dict:
    return definition_of(
        steps.build_pipeline(
            **PIPELINE_ARGUMENTS, image_uri=IMAGE, model_monitoring=True, sagemaker_session=offline_session
        )
    )


def test_without_model_monitoring_no_baseline(offline_session, definition):
    explicit_off = definition_of(
        steps.build_pipeline(
            **PIPELINE_ARGUMENTS, image_uri=IMAGE, model_monitoring=False, sagemaker_session=offline_session
        )
    )
    assert explicit_off == definition
    found = all_steps(definition)
    assert "DataQualityBaseline" not in found
    assert [o["OutputName"] for o in found["PreprocessAbaloneData"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]] == [
        "train",
        "validation",
        "test",
    ]
    register = found["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert "DriftCheckBaselines" not in register
    assert "ModelDataQuality" not in register["ModelMetrics"]


def test_model_monitoring_adds_the_baseline_step(monitored):
    found = all_steps(monitored)
    assert {name: step["Type"] for name, step in found.items()} == {
        "PreprocessAbaloneData": "Processing",
        "DataQualityBaseline": "QualityCheck",
        "TrainAbaloneModel": "Training",
        "EvaluateAbaloneModel": "Processing",
        "CheckMseEvaluation": "Condition",
        "RegisterAbaloneModel-RegisterModel": "RegisterModel",
        "MseAboveThresholdFail": "Fail",
    }
    # Same parameters as without monitoring.
    assert [p["Name"] for p in monitored["Parameters"]] == [
        "ProcessingInstanceType",
        "ProcessingInstanceCount",
        "TrainingInstanceType",
        "InputDataUrl",
        "MseThreshold",
    ]


def test_preprocessing_writes_the_baseline_features(monitored):
    preprocess = all_steps(monitored)["PreprocessAbaloneData"]["Arguments"]
    outputs = {o["OutputName"]: o for o in preprocess["ProcessingOutputConfig"]["Outputs"]}
    assert list(outputs) == ["train", "validation", "test", "baseline"]
    assert outputs["baseline"]["S3Output"]["LocalPath"] == "/opt/ml/processing/baseline"
    assert preprocess["AppSpecification"]["ContainerArguments"] == [
        "--input-data",
        {"Get": "Parameters.InputDataUrl"},
        "--baseline",
    ]


def test_baseline_step_analyzes_the_training_features(monitored):
    step = all_steps(monitored)["DataQualityBaseline"]
    assert step["CheckType"] == "DATA_QUALITY"
    # A new model always comes with a new baseline of its own data.
    assert (step["SkipCheck"], step["RegisterNewBaseline"]) == (True, True)
    arguments = step["Arguments"]
    assert arguments["AppSpecification"]["ImageUri"].endswith(
        ".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    assert arguments["RoleArn"] == ROLE
    (dataset,) = arguments["ProcessingInputs"]
    assert dataset["S3Input"]["S3Uri"] == {
        "Get": "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }
    assert json.loads(arguments["Environment"]["dataset_format"]) == {
        "csv": {"header": False, "output_columns_position": "START"}
    }
    assert arguments["NetworkConfig"] == {"EnableNetworkIsolation": True}
    assert arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }


def test_baseline_is_written_under_the_pipeline_prefix_with_the_project_key(monitored):
    output_config = all_steps(monitored)["DataQualityBaseline"]["Arguments"]["ProcessingOutputConfig"]
    assert output_config["KmsKeyId"] == KMS_KEY
    (output,) = output_config["Outputs"]
    assert output["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"s3://{BUCKET}",
                PIPELINE_NAME,
                "data-quality-baseline",
                {"Get": "Execution.PipelineExecutionId"},
            ],
        }
    }


def test_model_package_records_the_baseline(monitored):
    register = all_steps(monitored)["RegisterAbaloneModel-RegisterModel"]["Arguments"]
    assert register["ModelMetrics"]["ModelDataQuality"] == {
        "Statistics": {
            "ContentType": "application/json",
            "S3Uri": {"Get": "Steps.DataQualityBaseline.CalculatedBaselineStatistics"},
        },
        "Constraints": {
            "ContentType": "application/json",
            "S3Uri": {"Get": "Steps.DataQualityBaseline.CalculatedBaselineConstraints"},
        },
    }
    assert register["DriftCheckBaselines"]["ModelDataQuality"] == {
        "Statistics": {
            "ContentType": "application/json",
            "S3Uri": {"Get": "Steps.DataQualityBaseline.BaselineUsedForDriftCheckStatistics"},
        },
        "Constraints": {
            "ContentType": "application/json",
            "S3Uri": {"Get": "Steps.DataQualityBaseline.BaselineUsedForDriftCheckConstraints"},
        },
    }
    # The model's evaluation stays where it was.
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentType"] == "application/json"


# --- Private networking (SUBNET_IDS and SECURITY_GROUP_IDS) -------------------------------------

VPC_CONFIG = {"Subnets": SUBNETS, "SecurityGroupIds": SECURITY_GROUPS}


def build(session, **kwargs) -> dict:
    return definition_of(steps.build_pipeline(**PIPELINE_ARGUMENTS, image_uri=IMAGE, sagemaker_session=session, **kwargs))


@pytest.mark.parametrize("model_monitoring", [False, True])
def test_without_a_network_the_definition_is_unchanged(offline_session, model_monitoring):
    without = build(offline_session, model_monitoring=model_monitoring)
    for empty in ((), [], None):
        assert build(offline_session, model_monitoring=model_monitoring, subnet_ids=empty, security_group_ids=empty) == without
    # SageMaker's own network; only the baseline is isolated, as it always was.
    assert job_networks(without) == {
        "PreprocessAbaloneData": (None, None, False),
        "TrainAbaloneModel": (None, None, False),
        "EvaluateAbaloneModel": (None, None, False),
        **({"DataQualityBaseline": (None, None, True)} if model_monitoring else {}),
    }
    assert all("NetworkConfig" not in all_steps(without)[name]["Arguments"] for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel"))


@pytest.mark.parametrize("model_monitoring", [False, True])
def test_with_a_network_every_job_runs_in_the_subnets_with_encrypted_traffic(offline_session, model_monitoring):
    definition = build(
        offline_session, model_monitoring=model_monitoring, subnet_ids=SUBNETS, security_group_ids=SECURITY_GROUPS
    )
    assert job_networks(definition) == {
        "PreprocessAbaloneData": (VPC_CONFIG, True, False),
        "TrainAbaloneModel": (VPC_CONFIG, True, False),
        "EvaluateAbaloneModel": (VPC_CONFIG, True, False),
        # Network isolation stays on for the baseline.
        **({"DataQualityBaseline": (VPC_CONFIG, True, True)} if model_monitoring else {}),
    }
    found = all_steps(definition)
    for name in ("PreprocessAbaloneData", "EvaluateAbaloneModel", *(["DataQualityBaseline"] if model_monitoring else [])):
        assert found[name]["Arguments"]["NetworkConfig"] == {
            "EnableNetworkIsolation": name == "DataQualityBaseline",
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": VPC_CONFIG,
        }
    # Only the jobs change: same steps, same parameters.
    without = build(offline_session, model_monitoring=model_monitoring)
    assert {n: s["Type"] for n, s in found.items()} == {n: s["Type"] for n, s in all_steps(without).items()}
    assert definition["Parameters"] == without["Parameters"]


@pytest.mark.parametrize(
    "subnet_ids, security_group_ids", [(SUBNETS, ()), ((), SECURITY_GROUPS), (SUBNETS, None)]
)
def test_a_half_given_network_is_refused(offline_session, subnet_ids, security_group_ids):
    with pytest.raises(ValueError, match="give both or neither"):
        build(offline_session, subnet_ids=subnet_ids, security_group_ids=security_group_ids)
