"""The only AWS calls the deploy apps make at synth time: the model registry and SSM.

Each class takes a boto3 client, so tests pass clients wrapped in a botocore
``Stubber`` and no request leaves the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Generic, Mapping, Optional, TypeVar


class NoApprovedModelError(RuntimeError):
    """The model package group has no package with status Approved."""


class MissingStageParameterError(RuntimeError):
    """The SSM parameters that locate a stage's account/region do not exist."""


@dataclass(frozen=True)
class PackageContainer:
    """The first container of a model package's inference specification, as DescribeModelPackage gives it.

    A stage in the project's region creates its model from the package itself; one in another region
    cannot (SageMaker uses no model package of another region), so it creates the model from this
    container instead (mlops_deploy/regions.py, ``stage_model``), which needs all of it.
    """

    image_uri: str
    # S3 URI of the model data (model.tar.gz) in the project's region; None: the container has none,
    # which SageMaker allows (an image that holds its model, or fetches nothing).
    model_data_url: Optional[str] = None
    # Its environment variables (a framework model's SAGEMAKER_PROGRAM, ...), which a model created from
    # the container must set itself.
    environment: Mapping[str, str] = field(default_factory=dict)
    # Whether it names its model data as a ModelDataSource (uncompressed, an S3 prefix) instead.
    has_model_data_source: bool = False
    # How many containers the inference specification has (more than one: a serial inference pipeline).
    container_count: int = 1

    @classmethod
    def of_package(cls, package: Mapping[str, Any]) -> "PackageContainer":
        """The first container of ``package`` (DescribeModelPackage's answer), and how many there are."""
        containers = package["InferenceSpecification"]["Containers"]
        container = containers[0]
        return cls(
            image_uri=container["Image"],
            model_data_url=container.get("ModelDataUrl") or None,
            environment=dict(container.get("Environment") or {}),
            has_model_data_source=bool(container.get("ModelDataSource")),
            container_count=len(containers),
        )


@dataclass(frozen=True)
class ApprovedPackage:
    """What every deploy app takes of the approved model package: its ARN (a stage in the project's
    region creates its model from it) and its container (one in another region, from that). Each
    app's ``ApprovedModel`` is one, with what else the app takes."""

    model_package_arn: str
    container: PackageContainer


Model = TypeVar("Model", bound=ApprovedPackage)


class ModelRegistry(Generic[Model]):
    """Reads the SageMaker Model Registry in the DEV account. Each app says what of the approved
    package it deploys (``approved_model``)."""

    def __init__(self, sagemaker_client):
        self._sagemaker = sagemaker_client

    def latest_approved(self, model_package_group_name: str) -> Model:
        """Return the most recently created Approved package of the group.

        Raises:
            NoApprovedModelError: with what to do about it, if none is approved.
        """
        response = self._sagemaker.list_model_packages(
            ModelPackageGroupName=model_package_group_name,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )
        summaries = response.get("ModelPackageSummaryList", [])
        if not summaries:
            raise NoApprovedModelError(
                f"No approved model package in model package group '{model_package_group_name}', "
                "so there is nothing to deploy. Approve one, then run the deploy pipeline again "
                "(approving also starts it): in SageMaker Studio open Models > Registered models > "
                f"{model_package_group_name}, pick a version and set its status to Approved; or run\n"
                "  aws sagemaker update-model-package --model-package-arn <model package ARN> "
                "--model-approval-status Approved\n"
                "(list the versions with: aws sagemaker list-model-packages "
                f"--model-package-group-name {model_package_group_name})"
            )
        arn = summaries[0]["ModelPackageArn"]
        package = self._sagemaker.describe_model_package(ModelPackageName=arn)
        return self.approved_model(arn, package)

    def approved_model(self, model_package_arn: str, package: Dict[str, Any]) -> Model:
        """What the app deploys of the approved package (DescribeModelPackage's answer)."""
        raise NotImplementedError


@dataclass(frozen=True)
class StageLocation:
    """The AWS account and region a stage deploys to."""

    account: str
    region: str


class StageLocator:
    """Finds each stage's account and region in the project's SSM parameters (DEV account)."""

    def __init__(self, ssm_client):
        self._ssm = ssm_client

    @staticmethod
    def parameter_names(project_name: str, stage: str) -> tuple[str, str]:
        """Names of the account and region parameters the project template creates."""
        prefix = f"/mlops/{project_name}/{stage}"
        return f"{prefix}/account_id", f"{prefix}/region"

    def locate(self, project_name: str, stage: str) -> StageLocation:
        account_name, region_name = self.parameter_names(project_name, stage)
        response = self._ssm.get_parameters(Names=[account_name, region_name])
        values = {p["Name"]: p["Value"] for p in response.get("Parameters", [])}
        missing = [name for name in (account_name, region_name) if name not in values]
        if missing:
            raise MissingStageParameterError(
                f"Stage '{stage}' has no SSM parameter(s) {', '.join(missing)} in this account. "
                "The project template creates them for its stages; check DEPLOYMENT_STAGES."
            )
        return StageLocation(account=values[account_name], region=values[region_name])
