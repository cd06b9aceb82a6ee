"""The steps of the Abalone model-building pipeline: preprocess, train, evaluate, register.

``build_pipeline`` only *describes* the pipeline, for the XGBoost image that
``pipeline.py`` chooses; nothing runs until ``run_pipeline.py`` upserts and
starts it. Because the description is plain Python, tests can build it offline
and inspect ``pipeline.definition()``.

Data flow::

    InputDataUrl (S3 CSV)
      -> PreprocessAbaloneData  (scikit-learn processing job: train/validation/test CSVs)
      -> TrainAbaloneModel      (XGBoost in the training image)
      -> EvaluateAbaloneModel   (evaluate.py in the same image; writes evaluation.json,
                                 read back as a PropertyFile)
      -> CheckMseEvaluation     (MSE <= MseThreshold ?)
           yes -> RegisterAbaloneModel  (model package, PendingManualApproval; the image serves it)
           no  -> MseAboveThresholdFail

With ``model_monitoring=True`` (the build's ``MODEL_MONITORING=true``), preprocessing
also writes the training features alone (``baseline``), and::

      PreprocessAbaloneData -> DataQualityBaseline  (Model Monitor analyzer: statistics.json
                                                     and constraints.json of the features)

runs before registration; the model package records the baseline (its ``ModelMetrics``
and ``DriftCheckBaselines``), so the deploy repository can monitor the endpoint's
captured requests against it.

With ``subnet_ids`` and ``security_group_ids`` (the build's ``SUBNET_IDS`` and
``SECURITY_GROUP_IDS``), every job of the pipeline (processing, training, the
baseline) runs in those private subnets with those security groups, and encrypts
the traffic between its instances; network isolation stays as it is without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import boto3
from sagemaker.drift_check_baselines import DriftCheckBaselines
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import Model
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.network import NetworkConfig
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.workflow.steps import ProcessingStep, TrainingStep

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"

# Public copy of the UCI Abalone data set that AWS hosts for examples.
DEFAULT_INPUT_DATA_URL = "s3://sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv"

# Pinned so that a new SDK release cannot silently change preprocessing.
SKLEARN_FRAMEWORK_VERSION = "1.2-1"

# Every new model waits for a human: the deploy repository's pipeline only
# deploys packages whose status someone has changed to "Approved".
MODEL_APPROVAL_STATUS = "PendingManualApproval"

# Where the processing containers mount their inputs and outputs.
PROCESSING_DIR = "/opt/ml/processing"

# With model monitoring on: the step that computes the data-quality baseline, and where it
# writes it: s3://<default bucket>/<pipeline name>/<BASELINE_PREFIX>/<execution id>/.
BASELINE_STEP_NAME = "DataQualityBaseline"
BASELINE_PREFIX = "data-quality-baseline"


def get_session(region: str, default_bucket: str) -> PipelineSession:
    """Create a PipelineSession for ``region`` that writes to ``default_bucket``.

    A PipelineSession records job requests as pipeline steps instead of
    starting jobs, which is what lets ``build_pipeline`` run without side effects.
    """
    boto_session = boto3.Session(region_name=region)
    return PipelineSession(boto_session=boto_session, default_bucket=default_bucket)


def network_config(
    subnet_ids: Sequence[str], security_group_ids: Sequence[str], *, enable_network_isolation: bool
) -> Optional[NetworkConfig]:
    """The network of a job: in the subnets and security groups if given, else ``None`` (SageMaker's own network).

    ``None`` without subnets leaves the job's request as it was before this option
    existed, except for ``enable_network_isolation=True``, which is kept either way.
    """
    subnets, security_groups = list(subnet_ids or ()), list(security_group_ids or ())
    if bool(subnets) != bool(security_groups):
        raise ValueError(
            "subnet_ids and security_group_ids go together: give both or neither "
            f"(got subnet_ids={subnets!r}, security_group_ids={security_groups!r})"
        )
    if not subnets:
        return NetworkConfig(enable_network_isolation=True) if enable_network_isolation else None
    return NetworkConfig(
        subnets=subnets,
        security_group_ids=security_groups,
        enable_network_isolation=enable_network_isolation,
        encrypt_inter_container_traffic=True,
    )


def build_pipeline(
    *,
    region: str,
    role: str,
    default_bucket: str,
    model_package_group_name: str,
    pipeline_name: str,
    image_uri: str,
    metric_definitions: Optional[List[dict]] = None,
    kms_key: Optional[str] = None,
    base_job_prefix: str = "abalone",
    model_monitoring: bool = False,
    subnet_ids: Sequence[str] = (),
    security_group_ids: Sequence[str] = (),
    sagemaker_session: Optional[PipelineSession] = None,
) -> Pipeline:
    """Describe the Abalone pipeline.

    Args:
        region: AWS region the pipeline runs in (selects the preprocessing image).
        role: ARN of the IAM role the pipeline's jobs run as.
        default_bucket: S3 bucket for code, intermediate data and model artifacts.
        model_package_group_name: model package group that receives the model.
        pipeline_name: name of the SageMaker pipeline (also the S3 prefix).
        image_uri: XGBoost image that trains the model, runs ``evaluate.py`` (it
            needs xgboost, pandas and numpy) and serves the registered model.
        metric_definitions: regular expressions that turn the training log into
            metrics (``{"Name": ..., "Regex": ...}``); ``None`` for an algorithm
            that reports its metrics itself.
        kms_key: KMS key ARN/ID that encrypts job outputs; ``None`` uses the
            bucket's default encryption.
        base_job_prefix: prefix of the names of the jobs the pipeline starts.
        model_monitoring: also compute a data-quality baseline of the training
            features and record it in the model package (the deploy repository's
            monitoring schedules need it); ``False`` leaves the pipeline as without it.
        subnet_ids: private subnets (``subnet-...``) every job runs in; they need routes
            to S3, SageMaker and ECR (VPC endpoints or NAT). Empty: SageMaker's own network.
        security_group_ids: security groups (``sg-...``) of the jobs; given with
            ``subnet_ids`` or not at all.
        sagemaker_session: session to use; tests pass one that never calls AWS.

    Returns:
        The pipeline, ready for ``upsert()`` or ``definition()``.
    """
    # Checked first: a half-given network is an error before anything else happens.
    job_network = network_config(subnet_ids, security_group_ids, enable_network_isolation=False)
    session = sagemaker_session or get_session(region, default_bucket)

    # Parameters can be overridden per execution (Studio or start_pipeline_execution)
    # without changing code.
    processing_instance_type = ParameterString("ProcessingInstanceType", default_value="ml.m5.xlarge")
    processing_instance_count = ParameterInteger("ProcessingInstanceCount", default_value=1)
    training_instance_type = ParameterString("TrainingInstanceType", default_value="ml.m5.xlarge")
    input_data = ParameterString("InputDataUrl", default_value=DEFAULT_INPUT_DATA_URL)
    mse_threshold = ParameterFloat("MseThreshold", default_value=6.0)

    # --- 1. Preprocess: split and scale the raw CSV -------------------------------
    sklearn_processor = SKLearnProcessor(
        framework_version=SKLEARN_FRAMEWORK_VERSION,
        instance_type=processing_instance_type,
        instance_count=processing_instance_count,
        base_job_name=f"{base_job_prefix}-preprocess",
        role=role,
        output_kms_key=kms_key,
        network_config=job_network,
        sagemaker_session=session,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=sklearn_processor.run(
            code=str(SCRIPTS_DIR / "preprocess.py"),
            outputs=[
                ProcessingOutput(output_name=name, source=f"{PROCESSING_DIR}/{name}")
                for name in ("train", "validation", "test") + (("baseline",) if model_monitoring else ())
            ],
            # The script downloads the data itself so that the source bucket may
            # live in another region (processing inputs must be in the job's region).
            arguments=["--input-data", input_data] + (["--baseline"] if model_monitoring else []),
        ),
    )
    step_baseline = (
        _data_quality_baseline_step(
            step_process,
            role=role,
            instance_type=processing_instance_type,
            default_bucket=default_bucket,
            pipeline_name=pipeline_name,
            kms_key=kms_key,
            base_job_prefix=base_job_prefix,
            network=network_config(subnet_ids, security_group_ids, enable_network_isolation=True),
            session=session,
        )
        if model_monitoring
        else None
    )

    # --- 2. Train in the training image --------------------------------------------
    estimator = Estimator(
        image_uri=image_uri,
        instance_type=training_instance_type,
        instance_count=1,
        output_path=f"s3://{default_bucket}/{pipeline_name}/models",
        output_kms_key=kms_key,
        base_job_name=f"{base_job_prefix}-train",
        role=role,
        metric_definitions=metric_definitions,
        # Training jobs take the network as arguments of their own (VpcConfig in the request).
        **(
            {
                "subnets": job_network.subnets,
                "security_group_ids": job_network.security_group_ids,
                "encrypt_inter_container_traffic": job_network.encrypt_inter_container_traffic,
            }
            if job_network
            else {}
        ),
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        objective="reg:squarederror",
        num_round=50,
        max_depth=5,
        eta=0.2,
        gamma=4,
        min_child_weight=6,
        subsample=0.7,
    )
    splits = step_process.properties.ProcessingOutputConfig.Outputs
    step_train = TrainingStep(
        name="TrainAbaloneModel",
        step_args=estimator.fit(
            inputs={
                channel: TrainingInput(s3_data=splits[channel].S3Output.S3Uri, content_type="text/csv")
                for channel in ("train", "validation")
            }
        ),
    )

    # --- 3. Evaluate on the held-out test split ------------------------------------
    # The training image has xgboost, pandas and numpy, so evaluation reuses it
    # instead of needing a container of its own.
    evaluation_processor = ScriptProcessor(
        image_uri=image_uri,
        command=["python3"],
        instance_type=processing_instance_type,
        instance_count=1,
        base_job_name=f"{base_job_prefix}-evaluate",
        role=role,
        output_kms_key=kms_key,
        network_config=job_network,
        sagemaker_session=session,
    )
    evaluation_report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluation_processor.run(
            code=str(SCRIPTS_DIR / "evaluate.py"),
            inputs=[
                ProcessingInput(
                    source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination=f"{PROCESSING_DIR}/model",
                ),
                ProcessingInput(source=splits["test"].S3Output.S3Uri, destination=f"{PROCESSING_DIR}/test"),
            ],
            outputs=[ProcessingOutput(output_name="evaluation", source=f"{PROCESSING_DIR}/evaluation")],
        ),
        property_files=[evaluation_report],
    )

    # --- 4. Register the model, with its metrics, if it is good enough ------------
    evaluation_s3_uri = Join(
        on="/",
        values=[step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri, "evaluation.json"],
    )
    model = Model(
        image_uri=image_uri,  # the image that trained the model serves it
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        role=role,
        sagemaker_session=session,
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=model_package_group_name,
            approval_status=MODEL_APPROVAL_STATUS,
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=evaluation_s3_uri, content_type="application/json"),
                **(_baseline_metrics(step_baseline, calculated=True) if step_baseline else {}),
            ),
            drift_check_baselines=(
                DriftCheckBaselines(**_baseline_metrics(step_baseline, calculated=False)) if step_baseline else None
            ),
        ),
    )

    step_fail = FailStep(
        name="MseAboveThresholdFail",
        error_message=Join(on=" ", values=["Model MSE is above the threshold", mse_threshold]),
    )
    step_check = ConditionStep(
        name="CheckMseEvaluation",
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_eval.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold,
            )
        ],
        if_steps=[step_register],
        else_steps=[step_fail],
    )

    return Pipeline(
        name=pipeline_name,
        parameters=[
            processing_instance_type,
            processing_instance_count,
            training_instance_type,
            input_data,
            mse_threshold,
        ],
        steps=[step_process, *([step_baseline] if step_baseline else []), step_train, step_eval, step_check],
        sagemaker_session=session,
    )


def _data_quality_baseline_step(
    step_process: ProcessingStep,
    *,
    role: str,
    instance_type,
    default_bucket: str,
    pipeline_name: str,
    kms_key: Optional[str],
    base_job_prefix: str,
    network: NetworkConfig,
    session: PipelineSession,
) -> QualityCheckStep:
    """Statistics and constraints of the training features, by SageMaker's Model Monitor analyzer.

    The step always computes a new baseline and registers it with the model (no check
    against the baseline of an earlier model: a new model comes with its own data).
    """
    return QualityCheckStep(
        name=BASELINE_STEP_NAME,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=step_process.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri,
            # The features as the endpoint receives them: CSV without header, no label.
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=Join(
                on="/",
                values=[
                    f"s3://{default_bucket}",
                    pipeline_name,
                    BASELINE_PREFIX,
                    ExecutionVariables.PIPELINE_EXECUTION_ID,
                ],
            ),
        ),
        check_job_config=CheckJobConfig(
            role=role,
            instance_count=1,
            instance_type=instance_type,
            output_kms_key=kms_key,
            base_job_name=f"{base_job_prefix}-baseline",
            sagemaker_session=session,
            # The analyzer reads its input and writes its output through SageMaker only:
            # network isolation on, in the project's subnets or not.
            network_config=network,
        ),
        skip_check=True,
        register_new_baseline=True,
    )


def _baseline_metrics(step_baseline: QualityCheckStep, *, calculated: bool) -> dict:
    """The baseline's statistics and constraints as model metrics (``calculated``) or as drift check baselines."""
    properties = step_baseline.properties
    statistics, constraints = (
        (properties.CalculatedBaselineStatistics, properties.CalculatedBaselineConstraints)
        if calculated
        else (properties.BaselineUsedForDriftCheckStatistics, properties.BaselineUsedForDriftCheckConstraints)
    )
    return {
        "model_data_statistics": MetricsSource(s3_uri=statistics, content_type="application/json"),
        "model_data_constraints": MetricsSource(s3_uri=constraints, content_type="application/json"),
    }
