"""The SageMaker pipeline definition: one Transform step that scores the input prefix with the model.

The definition is the JSON that SageMaker Pipelines reads (the format the SageMaker Python SDK
writes with ``pipeline.definition()``), built here directly so that the app needs neither the SDK
nor AWS access at synth time.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from batch_inference.stage_config import StageConfig

STEP_NAME = "BatchTransform"
INPUT_PARAMETER = "InputDataUrl"


def transform_pipeline_definition(model_name: Any, config: StageConfig, kms_key_arn: Optional[str]) -> Dict[str, Any]:
    """A pipeline that runs one batch transform job of ``model_name`` over ``config.input``.

    Each execution writes to ``<config.output>/<pipeline execution id>/``, so runs never overwrite
    each other. The input prefix is a pipeline parameter: a manual run may score a sub-prefix (the
    model's role may read only under ``config.input``). ``kms_key_arn`` encrypts the output and the
    instances' storage volumes; without it (a stage in another region than the project's, whose key
    serves the project's region only, and no ``kms_key_arn`` in the stage's YAML) the output bucket's
    default encryption and SageMaker's own key do.
    """
    output = {
        "S3OutputPath": {"Std:Join": {"On": "", "Values": [config.output.uri, {"Get": "Execution.PipelineExecutionId"}]}},
    }
    if kms_key_arn:
        output["KmsKeyId"] = kms_key_arn
    output["AssembleWith"] = config.assemble_with
    if config.accept:
        output["Accept"] = config.accept
    arguments = {
        "ModelName": model_name,
        "BatchStrategy": config.batch_strategy,
        "MaxPayloadInMB": config.max_payload_mb,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": f"Parameters.{INPUT_PARAMETER}"}}},
            "ContentType": config.content_type,
            "SplitType": config.split_type,
        },
        "TransformOutput": output,
        "TransformResources": {
            "InstanceType": config.instance_type,
            "InstanceCount": config.instance_count,
        },
    }
    if kms_key_arn:
        arguments["TransformResources"]["VolumeKmsKeyId"] = kms_key_arn
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [{"Name": INPUT_PARAMETER, "Type": "String", "DefaultValue": config.input.uri}],
        "Steps": [{"Name": STEP_NAME, "Type": "Transform", "Arguments": arguments}],
    }
