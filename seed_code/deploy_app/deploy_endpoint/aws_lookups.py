"""The only AWS calls the app makes at synth time: the model registry and SSM.

Each class takes a boto3 client, so tests pass clients wrapped in a botocore
``Stubber`` and no request leaves the machine. What the deploy apps share is in
``mlops_deploy/aws_lookups.py``; here is what the endpoint takes of the approved package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from mlops_deploy import aws_lookups as shared
from mlops_deploy.aws_lookups import (  # noqa: F401 (the app's names for them)
    ApprovedPackage,
    MissingStageParameterError,
    NoApprovedModelError,
    PackageContainer,
    StageLocation,
    StageLocator,
)


class MissingBaselineError(RuntimeError):
    """Monitoring is on, but the approved model package has no data-quality baseline."""


@dataclass(frozen=True)
class DataQualityBaseline:
    """Where the statistics and constraints of the model's training features are (S3 URIs)."""

    statistics_s3_uri: str
    constraints_s3_uri: str

    @classmethod
    def of_package(cls, package: dict) -> Optional["DataQualityBaseline"]:
        """The baseline a model package records: its drift check baseline, else its model metrics."""
        for source in (package.get("DriftCheckBaselines"), package.get("ModelMetrics")):
            quality = (source or {}).get("ModelDataQuality") or {}
            statistics = (quality.get("Statistics") or {}).get("S3Uri")
            constraints = (quality.get("Constraints") or {}).get("S3Uri")
            if statistics and constraints:
                return cls(statistics_s3_uri=statistics, constraints_s3_uri=constraints)
        return None


@dataclass(frozen=True)
class ApprovedModel(ApprovedPackage):
    """The model package to deploy, its container and its data-quality baseline."""

    # None if the model build did not register one (MODEL_MONITORING unset there).
    data_quality_baseline: Optional[DataQualityBaseline] = None


class ModelRegistry(shared.ModelRegistry[ApprovedModel]):
    """Reads the SageMaker Model Registry in the DEV account."""

    def approved_model(self, model_package_arn: str, package: dict) -> ApprovedModel:
        return ApprovedModel(
            model_package_arn=model_package_arn,
            container=PackageContainer.of_package(package),
            data_quality_baseline=DataQualityBaseline.of_package(package),
        )
