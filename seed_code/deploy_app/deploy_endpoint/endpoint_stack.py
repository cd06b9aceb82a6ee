"""One stage's stack: execution role, SageMaker model, endpoint config, endpoint, autoscaling."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import (
    BootstraplessSynthesizer,
    Environment,
    Stack,
    Tags,
    aws_applicationautoscaling as autoscaling,
    aws_iam as iam,
    aws_sagemaker as sagemaker,
)
from constructs import Construct

from deploy_endpoint.aws_lookups import ApprovedModel, StageLocation
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import StageConfig

VARIANT_NAME = "AllTraffic"

# Roles go under this path: the target accounts' CloudFormation execution policy (the library's
# DeploymentTargetPolicy) lets deployments create, change and pass roles under it only.
ROLE_PATH = "/mlops-deployment/"

# Captured requests go under this prefix of the artifact bucket, the only part of it that the
# project lets deployment accounts write: datacapture/<project name>-<stage>/.
DATA_CAPTURE_PREFIX = "datacapture/"


@dataclass(frozen=True)
class EcrRepository:
    """Where an ECR image lives, parsed from its URI."""

    account: str
    region: str
    name: str

    @classmethod
    def from_image_uri(cls, image_uri: str) -> "EcrRepository":
        """Parse ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>[:tag|@digest]``."""
        registry, _, path = image_uri.partition("/")
        parts = registry.split(".")
        if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
            raise ValueError(f"Not an ECR image URI: {image_uri!r}")
        name = path.split("@", 1)[0]  # drop a digest
        name = name.rsplit(":", 1)[0] if ":" in name else name  # drop a tag
        return cls(account=parts[0], region=parts[3], name=name)

    def arn(self, partition: str) -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.name}"


class EndpointStack(Stack):
    """Serves ``model`` on a real-time endpoint named ``<project>-<stage>``.

    The template must deploy through CloudFormation alone (the deploy pipeline
    does not run ``cdk deploy``), so it uses the ``BootstraplessSynthesizer``:
    no bootstrap version check and no assets.
    """

    def __init__(
        self,
        scope: Construct,
        stage: str,
        *,
        project: ProjectSettings,
        model: ApprovedModel,
        location: StageLocation,
        config: StageConfig,
    ) -> None:
        super().__init__(
            scope,
            stage,  # the construct id names the template: <stage>.template.json
            env=Environment(account=location.account, region=location.region),
            synthesizer=BootstraplessSynthesizer(),
            description=f"SageMaker endpoint of project {project.project_name} ({stage})",
        )
        self.endpoint_name = f"{project.project_name}-{stage}"
        capture_prefix = f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}"

        role, policy = self._execution_role(
            project, model, capture_prefix if config.data_capture.enabled else None
        )

        cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            # Creating the model from the package (not from its image and data)
            # keeps the lineage from endpoint back to registry entry.
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=model.model_package_arn,
            ),
            # The serving container needs no network: SageMaker fetches the model data
            # before it starts. The deploy pipeline's security scan (checkov) requires this.
            enable_network_isolation=True,
        )
        # SageMaker checks the role's access to the model data when it creates the
        # model, so wait for the role's policy too (the role ARN only orders the role).
        cfn_model.node.add_dependency(policy)

        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=cfn_model.attr_model_name,
                    initial_instance_count=config.instance_count,
                    instance_type=config.instance_type,
                    initial_variant_weight=config.variant_weight,
                )
            ],
            data_capture_config=self._data_capture(project, config, capture_prefix),
        )

        endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
        )

        if config.autoscaling:
            self._autoscaling(endpoint, config)

        for key, value in {
            "sagemaker:project-name": project.project_name,
            "sagemaker:project-id": project.project_id,
            "sagemaker:deployment-stage": stage,
        }.items():
            Tags.of(self).add(key, value)

    def _execution_role(
        self, project: ProjectSettings, model: ApprovedModel, capture_prefix: str | None
    ) -> tuple[iam.Role, iam.Policy]:
        """A role that can read the model, pull its image and write its logs, and little else."""
        bucket_arn = f"arn:{self.partition}:s3:::{project.artifact_bucket}"
        statements = [
            iam.PolicyStatement(sid="ReadModelArtifacts", actions=["s3:GetObject"], resources=[f"{bucket_arn}/*"]),
            iam.PolicyStatement(sid="ListArtifactBucket", actions=["s3:ListBucket"], resources=[bucket_arn]),
        ]
        # The artifact bucket (in DEV) is encrypted with the DEV account's key.
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
        if capture_prefix:
            # Captured requests are written back to the artifact bucket, under one prefix only.
            statements.append(
                iam.PolicyStatement(
                    sid="WriteDataCapture", actions=["s3:PutObject"], resources=[f"{bucket_arn}/{capture_prefix}/*"]
                )
            )
            key_actions += ["kms:Encrypt", "kms:GenerateDataKey"]
        statements.append(
            iam.PolicyStatement(sid="UseArtifactKey", actions=key_actions, resources=[project.artifact_bucket_kms_key_arn])
        )
        repository = EcrRepository.from_image_uri(model.image_uri)
        statements.append(
            iam.PolicyStatement(
                sid="PullModelImage",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[repository.arn(self.partition)],
            )
        )
        # ECR has no resource to scope the login token to.
        statements.append(iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        log_group_arn = (
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/sagemaker/Endpoints/{self.endpoint_name}"
        )
        statements.append(
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:*"],
            )
        )
        boundary = None
        if project.role_permissions_boundary:
            boundary = iam.ManagedPolicy.from_managed_policy_arn(
                self,
                "PermissionsBoundary",
                f"arn:{self.partition}:iam::{self.account}:policy/{project.role_permissions_boundary}",
            )
        role = iam.Role(
            self,
            "ModelExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the {self.endpoint_name} SageMaker endpoint",
            path=ROLE_PATH,
            permissions_boundary=boundary,
        )
        policy = iam.Policy(self, "ModelExecutionPolicy", roles=[role], statements=statements)
        return role, policy

    @staticmethod
    def _data_capture(
        project: ProjectSettings, config: StageConfig, capture_prefix: str
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
        if not config.data_capture.enabled:
            return None
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=config.data_capture.sampling_percentage,
            destination_s3_uri=f"s3://{project.artifact_bucket}/{capture_prefix}",
            kms_key_id=project.artifact_bucket_kms_key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                csv_content_types=["text/csv"]
            ),
        )

    def _autoscaling(self, endpoint: sagemaker.CfnEndpoint, config: StageConfig) -> None:
        """Scale the variant's instance count to keep invocations per instance near the target."""
        assert config.autoscaling is not None
        target = autoscaling.CfnScalableTarget(
            self,
            "ScalableTarget",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            # attr_endpoint_name (not the plain name) makes CloudFormation wait for the endpoint.
            resource_id=f"endpoint/{endpoint.attr_endpoint_name}/variant/{VARIANT_NAME}",
            min_capacity=config.autoscaling.min_capacity,
            max_capacity=config.autoscaling.max_capacity,
        )
        autoscaling.CfnScalingPolicy(
            self,
            "InvocationsScalingPolicy",
            policy_name=f"{self.endpoint_name}-invocations",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.ref,
            target_tracking_scaling_policy_configuration=autoscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=config.autoscaling.target_invocations_per_instance,
                predefined_metric_specification=autoscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"
                ),
                # Scale out quickly on load, scale in slowly to avoid flapping.
                scale_out_cooldown=60,
                scale_in_cooldown=300,
            ),
        )
