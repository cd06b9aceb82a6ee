"""A stage's SageMaker model, as every deploy app creates it from what ``stage_model`` (regions.py)
says it is made of, and what its execution role needs to read the model and pull its image."""

from __future__ import annotations

from typing import List, Optional

from aws_cdk import Stack, aws_iam as iam, aws_sagemaker as sagemaker

from mlops_deploy.ecr import EcrRepository
from mlops_deploy.regions import StageModel
from mlops_deploy.vpc import VpcPlacement

# What pulling an image takes of its ECR repository.
PULL_IMAGE_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def read_model_statements(
    stack: Stack, made_of: StageModel, *, artifact_bucket: str, in_project_region: bool
) -> List[iam.PolicyStatement]:
    """Read the model data: in the project's region, the package's, in its artifact bucket; in another
    region, the one object staged into the bootstrap's bucket of the stage's region (none if the
    container has no model data).

    (The default bootstrap encrypts that bucket with the AWS managed key aws/s3, which principals of
    the account may use through S3 without a KMS permission.) ``ReadStagedModelData`` is the name of
    the statement that allows it in the target accounts' permissions boundary (DeploymentTargetPolicy).
    """
    if in_project_region:
        bucket_arn = f"arn:{stack.partition}:s3:::{artifact_bucket}"
        return [
            iam.PolicyStatement(sid="ReadModelArtifacts", actions=["s3:GetObject"], resources=[f"{bucket_arn}/*"]),
            iam.PolicyStatement(sid="ListArtifactBucket", actions=["s3:ListBucket"], resources=[bucket_arn]),
        ]
    if made_of.staged_model_data:
        return [
            iam.PolicyStatement(
                sid="ReadStagedModelData",
                actions=["s3:GetObject"],
                resources=[made_of.staged_model_data.object_arn(stack.partition)],
            )
        ]
    return []


def pull_image_statements(stack: Stack, image_uri: str, sid: str = "PullModelImage") -> List[iam.PolicyStatement]:
    """Pull ``image_uri`` (the model's, by default): its one ECR repository, and the login token."""
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=list(PULL_IMAGE_ACTIONS),
            resources=[EcrRepository.from_image_uri(image_uri).arn(stack.partition)],
        ),
        # ECR has no resource to scope the login token to.
        iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
    ]


def sagemaker_model(
    stack: Stack,
    made_of: StageModel,
    *,
    role: iam.IRole,
    policy: iam.Policy,
    vpc: Optional[VpcPlacement],
) -> sagemaker.CfnModel:
    """The stage's model ("Model"), run by ``role``, whose permissions ``policy`` holds: network
    isolated, and in the stage's subnets if it has a network (``vpc``)."""
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=made_of.container,
        # The container needs no network: SageMaker fetches the model data (and any input) before it
        # starts. The deploy pipeline's security scan (checkov) requires this.
        enable_network_isolation=True,
        # With a stage network, SageMaker attaches the model's containers (an endpoint's, a transform
        # job's) to its subnets, for the VPC endpoints or NAT they reach S3, ECR and CloudWatch Logs through.
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(subnets=vpc.subnets, security_group_ids=vpc.security_group_ids)
        if vpc
        else None,
    )
    # SageMaker checks the role's access to the model data when it creates the model, so wait for
    # the role's policy too (the role's ARN orders the role only).
    model.node.add_dependency(policy)
    return model
