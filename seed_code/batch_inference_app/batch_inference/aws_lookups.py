"""The only AWS calls the app makes at synth time: the model registry and SSM.

Each class takes a boto3 client, so tests pass clients wrapped in a botocore
``Stubber`` and no request leaves the machine. What the deploy apps share is in
``mlops_deploy/aws_lookups.py``; here is what the batch transform takes of the approved package.
"""

from __future__ import annotations

from mlops_deploy import aws_lookups as shared
from mlops_deploy.aws_lookups import (  # noqa: F401 (the app's names for them)
    ApprovedPackage,
    MissingStageParameterError,
    NoApprovedModelError,
    PackageContainer,
    StageLocation,
    StageLocator,
)


# The model package to deploy and its container: the batch transform takes nothing else of it. A
# stage in the project's region creates its model from the package, one in another region from the
# container (mlops_deploy/regions.py, stage_model).
ApprovedModel = ApprovedPackage


class ModelRegistry(shared.ModelRegistry[ApprovedModel]):
    """Reads the SageMaker Model Registry in the DEV account."""

    def approved_model(self, model_package_arn: str, package: dict) -> ApprovedModel:
        return ApprovedModel(model_package_arn=model_package_arn, container=PackageContainer.of_package(package))
