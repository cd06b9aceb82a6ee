"""The only AWS calls the app makes at synth time: the model registry and SSM.

Each class takes a boto3 client, so tests pass clients wrapped in a botocore
``Stubber`` and no request leaves the machine. What the deploy apps share is in
``mlops_deploy/aws_lookups.py``; here is what the batch transform takes of the approved package.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_deploy import aws_lookups as shared
from mlops_deploy.aws_lookups import (  # noqa: F401 (the app's names for them)
    MissingStageParameterError,
    NoApprovedModelError,
    StageLocation,
    StageLocator,
)


@dataclass(frozen=True)
class ApprovedModel:
    """The model package to deploy and the container image it runs in."""

    model_package_arn: str
    image_uri: str


class ModelRegistry(shared.ModelRegistry[ApprovedModel]):
    """Reads the SageMaker Model Registry in the DEV account."""

    def approved_model(self, model_package_arn: str, package: dict) -> ApprovedModel:
        image_uri = package["InferenceSpecification"]["Containers"][0]["Image"]
        return ApprovedModel(model_package_arn=model_package_arn, image_uri=image_uri)
