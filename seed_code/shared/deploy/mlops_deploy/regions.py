"""A stage in another region than the project's (where the model registry and artifact bucket are).

SageMaker creates a model only from an image and model data of the model's own region, and cannot
use a model package of another region. So such a stage's stack is synthesized for the CDK bootstrap
of its account and region (``stage_synthesizer``): the deploy pipeline publishes its
``<stage>.assets.json`` before it deploys the template, which copies the approved model data into
that bootstrap's staging bucket (``stage_model_data``), and the model runs the image of the stage's
region (``regional_image_uri``). ``stage_model`` decides, for both deploy apps, what a stage's model
is made of in either case. Stages in the project's region keep their bootstrapless templates.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Dict, List, Optional

import aws_cdk
from aws_cdk import aws_sagemaker as sagemaker

from mlops_deploy.aws_lookups import ApprovedPackage, StageLocation, StageLocator
from mlops_deploy.ecr import EcrRepository

# The AWS account that holds SageMaker's framework images (sagemaker-xgboost, sagemaker-scikit-learn)
# in each region: the same for both, as the SageMaker Python SDK lists them
# (image_uri_config/xgboost.json, inference 1.7-1; image_uri_config/sklearn.json, inference 1.2-1).
SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS: Dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}

# Region name prefix -> (partition, DNS suffix of its ECR registries); longest prefix first.
_PARTITIONS = (
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("", "aws", "amazonaws.com"),
)

# Runs in the deploy pipeline's publishing build (cdk-assets, no shell of its own, in the folder of
# <stage>.assets.json) with the build's credentials, which may read the project's artifact bucket:
# copies the model data ($1) to a file ($2) there and prints that file's absolute path, the only
# thing on stdout, which cdk-assets then uploads to the stage's staging bucket. $0 is the name below.
MODEL_DATA_FETCH_COMMAND: List[str] = [
    "sh",
    "-c",
    'aws s3 cp --only-show-errors "$1" "$PWD/$2" >&2 && echo "$PWD/$2"',
    "fetch-model-data",
]

_S3_OBJECT_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)$")


class CrossRegionError(ValueError):
    """What a stage in another region than the project's cannot be given, and what to do instead."""


class StageBootstrapSynthesizer(aws_cdk.DefaultStackSynthesizer):
    """The CDK bootstrap's synthesizer, bound to one stack itself rather than to a copy.

    ``DefaultStackSynthesizer`` is reusable: a stack binds a copy of it, which Python (jsii) cannot
    tell from the original, so ``stack.synthesizer.add_file_asset`` would reach the unbound original
    and fail. Each stage stack gets its own synthesizer (``stage_synthesizer``), so binding it is safe.
    """

    def reusable_bind(self, stack: aws_cdk.Stack) -> aws_cdk.IBoundStackSynthesizer:
        self.bind(stack)
        return self


def in_project_region(project_region: str, location: StageLocation) -> bool:
    """Whether the stage deploys in the project's region (where its registry and artifact bucket are)."""
    return location.region == project_region


def stage_synthesizer(
    project_region: str, bootstrap_qualifier: str, location: StageLocation
) -> aws_cdk.IStackSynthesizer:
    """The synthesizer of a stage's stack.

    In the project's region: ``BootstraplessSynthesizer`` (the template deploys through CloudFormation
    alone, no assets). In another region: the stage account's CDK bootstrap with ``bootstrap_qualifier``,
    whose staging bucket receives the model data (``<stage>.assets.json``, published by the pipeline);
    no bootstrap version rule, as the pipeline deploys the template itself.
    """
    if in_project_region(project_region, location):
        return aws_cdk.BootstraplessSynthesizer()
    return StageBootstrapSynthesizer(qualifier=bootstrap_qualifier, generate_bootstrap_version_rule=False)


def partition_of(region: str) -> str:
    """The AWS partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``, ...)."""
    return next(partition for prefix, partition, _ in _PARTITIONS if region.startswith(prefix))


def _ecr_suffix(region: str) -> str:
    return next(suffix for prefix, _, suffix in _PARTITIONS if region.startswith(prefix))


def regional_image_uri(image_uri: str, project_region: str, stage_region: str) -> str:
    """The image of the approved package (``image_uri``, in the project's region) as ``stage_region`` has it.

    SageMaker's framework images are in one AWS account per region (SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS):
    the stage region's account, with the same repository and tag or digest. Any other image (the
    project's own repository, e.g. a BYOC image) is taken from the same account and repository in the
    stage's region, which holds it only if the registry is replicated there (ECR cross-region replication).

    Raises:
        CrossRegionError: the image is not in ECR, the regions are in different partitions, or the
            table lacks the stage's region.
    """
    if stage_region == project_region:
        return image_uri
    try:
        repository = EcrRepository.from_image_uri(image_uri)
    except ValueError:
        raise CrossRegionError(
            f"The approved package's image {image_uri!r} is not an ECR image, so there is no copy of it in "
            f"{stage_region}: register the model with an image in ECR, or deploy the stage in {project_region}"
        ) from None
    if partition_of(stage_region) != partition_of(project_region):
        raise CrossRegionError(
            f"Region {stage_region} is in partition {partition_of(stage_region)}, the project's region "
            f"{project_region} in {partition_of(project_region)}: a stage cannot be deployed across partitions. "
            f"Deploy the stage in a region of {partition_of(project_region)}."
        )
    account = repository.account
    if SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS.get(repository.region) == repository.account:
        account = SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS.get(stage_region, "")
        if not account:
            raise CrossRegionError(
                f"No SageMaker framework image account is known for region {stage_region} (the image "
                f"{image_uri} is SageMaker's, in its account of {repository.region}): add the account that "
                f"holds the {repository.name} image in {stage_region} to SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS in "
                "mlops_deploy/regions.py (SageMaker documentation, 'Docker Registry Paths and Example Code'), "
                f"or deploy the stage in one of its regions: {', '.join(sorted(SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS))}"
            )
    path = image_uri.partition("/")[2]  # repository and tag or digest
    return f"{account}.dkr.ecr.{stage_region}.{_ecr_suffix(stage_region)}/{path}"


@dataclass(frozen=True)
class StagedModelData:
    """The model data as the stage's region holds it after publishing: an object of the staging bucket."""

    bucket: str
    key: str

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def object_arn(self, partition: str) -> str:
        return f"arn:{partition}:s3:::{self.bucket}/{self.key}"


def stage_model_data(stack: aws_cdk.Stack, model_data_url: str) -> StagedModelData:
    """Add ``model_data_url`` (the approved package's model data, in the project's region) to the stack's
    assets, so the pipeline copies it into the staging bucket of the stage's bootstrap before it deploys.

    The object key is ``<sha256 of the URL>.tar.gz``: a newly approved model (another URL) is a new
    object, an unchanged one is not copied again, and SageMaker gets the ``.tar.gz`` it wants. The stack
    must use ``stage_synthesizer``'s bootstrap synthesizer (a bootstrapless one takes no assets).
    """
    if not _S3_OBJECT_URI.match(model_data_url):
        raise CrossRegionError(
            f"The approved package's ModelDataUrl {model_data_url!r} is not an S3 object (s3://<bucket>/<key>), "
            "which is what can be copied into the stage's region: register the model with its model.tar.gz in S3"
        )
    digest = hashlib.sha256(model_data_url.encode("utf-8")).hexdigest()
    # jsii passes the FileAssetSource struct as keyword arguments.
    location = stack.synthesizer.add_file_asset(
        source_hash=f"{digest}.tar.gz",
        executable=[*MODEL_DATA_FETCH_COMMAND, model_data_url, f"model-data-{digest}.tar.gz"],
        display_name=f"model data {model_data_url}",
    )
    return StagedModelData(bucket=location.bucket_name, key=location.object_key)


@dataclass(frozen=True)
class StageModel:
    """What a stage's SageMaker model is made of, and what its execution role needs for it."""

    # The model's PrimaryContainer.
    container: sagemaker.CfnModel.ContainerDefinitionProperty
    # The image the model runs, which its role pulls: the package's, or its copy in the stage's region.
    image_uri: str
    # The model data staged into the stage's region, the only object its role reads there. None in the
    # project's region (the package's model data, in the artifact bucket) and for a container without any.
    staged_model_data: Optional[StagedModelData]


def stage_model(
    stack: aws_cdk.Stack, *, stage: str, project_name: str, project_region: str, package: ApprovedPackage
) -> StageModel:
    """The model of ``stage`` (whose stack is ``stack``, made with ``stage_synthesizer``) for ``package``.

    In the project's region: the package itself (``ModelPackageName``), which keeps the lineage from
    the model back to its registry entry. In another region: the package's container, as that region
    has it: the image of the region, the model data staged there (none if the container has none) and
    the container's environment.

    Raises:
        CrossRegionError: in another region, the package has several containers (a serial inference
            pipeline) or a ModelDataSource, which this cannot copy; or its image or model data
            cannot be had there (``regional_image_uri``, ``stage_model_data``).
    """
    container = package.container
    if stack.region == project_region:
        return StageModel(
            container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=package.model_package_arn),
            image_uri=container.image_uri,
            staged_model_data=None,
        )
    uncopyable = []
    if container.container_count > 1:
        uncopyable.append(f"{container.container_count} containers (a serial inference pipeline)")
    if container.has_model_data_source:
        uncopyable.append("a ModelDataSource (uncompressed model data) instead of a ModelDataUrl")
    if uncopyable:
        _, region_parameter = StageLocator.parameter_names(project_name, stage)
        raise CrossRegionError(
            f"Stage '{stage}' deploys to {stack.region}, another region than the project's ({project_region}), "
            f"where SageMaker cannot use the approved package {package.model_package_arn}, so the stage's model "
            f"is created from the package's container, its image and model.tar.gz (ModelDataUrl, if any) copied "
            f"into {stack.region}; but the package has {' and '.join(uncopyable)}, which cannot be copied. "
            "Register the model with one container and its model data as a ModelDataUrl (or none), or deploy "
            f"the stage in {project_region} (set the SSM parameter {region_parameter} to {project_region})."
        )
    image_uri = regional_image_uri(container.image_uri, project_region, stack.region)
    staged = stage_model_data(stack, container.model_data_url) if container.model_data_url else None
    return StageModel(
        container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=image_uri,
            model_data_url=staged.s3_uri if staged else None,
            environment=dict(container.environment) or None,
        ),
        image_uri=image_uri,
        staged_model_data=staged,
    )
