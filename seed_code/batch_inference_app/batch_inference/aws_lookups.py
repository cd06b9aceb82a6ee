"""The only AWS calls the app makes at synth time: the model registry and SSM.

Each class takes a boto3 client, so tests pass clients wrapped in a botocore
``Stubber`` and no request leaves the machine. What the deploy apps share is in
``mlops_deploy/aws_lookups.py``; here is what the batch transform takes of the approved package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from mlops_deploy import aws_lookups as shared
from mlops_deploy.aws_lookups import (  # noqa: F401 (the app's names for them)
    MissingStageParameterError,
    NoApprovedModelError,
    StageLocation,
    StageLocator,
)


@dataclass(frozen=True)
class ApprovedModel:
    """The model package to deploy, the container image it runs in and its model data.

    A stage in the project's region creates its model from the package; one in another region
    from the image (of that region) and the model data (staged there), see batch_stack.py.
    """

    model_package_arn: str
    image_uri: str
    # S3 URI of the model data in the project's artifact bucket (None: the package names none).
    model_data_url: Optional[str] = None


class ModelRegistry(shared.ModelRegistry[ApprovedModel]):
    """Reads the SageMaker Model Registry in the DEV account."""

    def approved_model(self, model_package_arn: str, package: dict) -> ApprovedModel:
        container = package["InferenceSpecification"]["Containers"][0]
        return ApprovedModel(
            model_package_arn=model_package_arn,
            image_uri=container["Image"],
            model_data_url=container.get("ModelDataUrl"),
        )
