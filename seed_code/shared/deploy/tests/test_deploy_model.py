"""A stage's SageMaker model as every deploy app creates it (mlops_deploy/model.py): network isolated,
in the stage's subnets if it has a network, created after its role's policy, and the statements its
role needs to read the model data and pull the image, in the project's region and in another."""

from __future__ import annotations

from typing import Optional

import aws_cdk
import pytest
from aws_cdk import aws_iam as iam, aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from mlops_deploy.model import PULL_IMAGE_ACTIONS, pull_image_statements, read_model_statements, sagemaker_model
from mlops_deploy.networks import StageNetwork
from mlops_deploy.regions import StagedModelData, StageModel
from mlops_deploy.vpc import vpc_placement

from .deploy_stubs import ARTIFACT_BUCKET, DEV_ACCOUNT, IMAGE_URI, PACKAGE_ARN, REGION, SECURITY_GROUPS, SUBNETS, render

OTHER_REGION_IMAGE_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
STAGED = StagedModelData(bucket=f"cdk-hnb659fds-assets-{DEV_ACCOUNT}-us-east-1", key="abc.tar.gz")
# What stage_model gives in the project's region, and in another with and without model data.
FROM_PACKAGE = StageModel(
    container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=PACKAGE_ARN),
    image_uri=IMAGE_URI,
    staged_model_data=None,
)
FROM_CONTAINER = StageModel(
    container=sagemaker.CfnModel.ContainerDefinitionProperty(image=OTHER_REGION_IMAGE_URI, model_data_url=STAGED.s3_uri),
    image_uri=OTHER_REGION_IMAGE_URI,
    staged_model_data=STAGED,
)
IMAGE_ALONE = StageModel(
    container=sagemaker.CfnModel.ContainerDefinitionProperty(image=OTHER_REGION_IMAGE_URI),
    image_uri=OTHER_REGION_IMAGE_URI,
    staged_model_data=None,
)


def stage_stack(region: str = REGION) -> aws_cdk.Stack:
    return aws_cdk.Stack(aws_cdk.App(), "dev", env=aws_cdk.Environment(account=DEV_ACCOUNT, region=region))


def rendered(stack: aws_cdk.Stack, statements: list) -> list:
    return [render(stack.resolve(s.to_statement_json())) for s in statements]


def render_resources(statement: dict) -> dict:
    return {**statement, "Resource": render(statement["Resource"])}


def test_in_the_projects_region_the_role_reads_the_artifact_bucket():
    stack = stage_stack()
    found = rendered(stack, read_model_statements(stack, FROM_PACKAGE, artifact_bucket=ARTIFACT_BUCKET, in_project_region=True))
    assert [render_resources(s) for s in found] == [
        {"Sid": "ReadModelArtifacts", "Action": "s3:GetObject", "Effect": "Allow", "Resource": f"arn:aws:s3:::{ARTIFACT_BUCKET}/*"},
        {"Sid": "ListArtifactBucket", "Action": "s3:ListBucket", "Effect": "Allow", "Resource": f"arn:aws:s3:::{ARTIFACT_BUCKET}"},
    ]


def test_in_another_region_the_role_reads_the_staged_object_only():
    stack = stage_stack("us-east-1")
    found = rendered(stack, read_model_statements(stack, FROM_CONTAINER, artifact_bucket=ARTIFACT_BUCKET, in_project_region=False))
    # The sid of the statement that allows it in the target accounts' permissions boundary (DeploymentTargetPolicy).
    assert [render_resources(s) for s in found] == [
        {"Sid": "ReadStagedModelData", "Action": "s3:GetObject", "Effect": "Allow", "Resource": STAGED.object_arn("aws")}
    ]
    assert ARTIFACT_BUCKET not in str(found)


def test_in_another_region_a_container_without_model_data_reads_nothing():
    stack = stage_stack("us-east-1")
    assert read_model_statements(stack, IMAGE_ALONE, artifact_bucket=ARTIFACT_BUCKET, in_project_region=False) == []


@pytest.mark.parametrize(
    "image_uri, repository",
    [
        (IMAGE_URI, f"arn:aws:ecr:{REGION}:141502667606:repository/sagemaker-xgboost"),
        (OTHER_REGION_IMAGE_URI, "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
    ],
)
def test_the_role_pulls_from_the_images_repository_alone(image_uri, repository):
    stack = stage_stack()
    found = rendered(stack, pull_image_statements(stack, image_uri))
    assert [render_resources(s) for s in found] == [
        {"Sid": "PullModelImage", "Action": list(PULL_IMAGE_ACTIONS), "Effect": "Allow", "Resource": repository},
        # ECR has no resource to scope the login token to.
        {"Sid": "EcrLogin", "Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]
    assert [s["Sid"] for s in rendered(stack, pull_image_statements(stack, image_uri, sid="PullAnalyzerImage"))] == [
        "PullAnalyzerImage",
        "EcrLogin",
    ]


def synth_model(made_of: StageModel, network: Optional[StageNetwork] = None) -> dict:
    """The template of a stack with ``sagemaker_model`` of ``made_of``, in ``network`` if given."""
    stack = stage_stack()
    role = iam.Role(stack, "ModelExecutionRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    policy = iam.Policy(stack, "ModelExecutionPolicy", roles=[role], statements=pull_image_statements(stack, made_of.image_uri))
    vpc = vpc_placement(stack, network, "the model") if network else None
    model = sagemaker_model(stack, made_of, role=role, policy=policy, vpc=vpc)
    assert model.node.id == "Model"
    return Template.from_stack(stack).to_json()


def test_the_model_is_network_isolated_and_waits_for_its_roles_policy():
    template = synth_model(FROM_PACKAGE)
    model = template["Resources"]["Model"]
    role_id = next(k for k in template["Resources"] if k.startswith("ModelExecutionRole"))
    policy_id = next(k for k in template["Resources"] if k.startswith("ModelExecutionPolicy"))
    assert model["Properties"] == {
        "ExecutionRoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "PrimaryContainer": {"ModelPackageName": PACKAGE_ARN},
        # The deploy pipeline's security scan (checkov) fails a model without network isolation.
        "EnableNetworkIsolation": True,
    }
    # SageMaker checks the role's access to the model data when it creates the model.
    assert policy_id in model["DependsOn"]


def test_the_model_runs_in_the_stages_subnets():
    model = synth_model(FROM_CONTAINER, StageNetwork(subnet_ids=SUBNETS, security_group_ids=SECURITY_GROUPS))["Resources"]["Model"]
    assert model["Properties"]["VpcConfig"] == {"Subnets": list(SUBNETS), "SecurityGroupIds": list(SECURITY_GROUPS)}
    assert model["Properties"]["PrimaryContainer"] == {"Image": OTHER_REGION_IMAGE_URI, "ModelDataUrl": STAGED.s3_uri}
    assert model["Properties"]["EnableNetworkIsolation"] is True
