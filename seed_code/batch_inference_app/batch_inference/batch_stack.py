"""One stage's stack: the model, a SageMaker pipeline that runs a batch transform, and its schedule."""

from __future__ import annotations

from typing import List, Optional

from aws_cdk import (
    Environment,
    Stack,
    Tags,
    aws_events as events,
    aws_iam as iam,
    aws_sagemaker as sagemaker,
)
from constructs import Construct

from mlops_deploy.ecr import EcrRepository  # noqa: F401 (the app's name for it)
from mlops_deploy.regions import StagedModelData, in_project_region, stage_model, stage_synthesizer
from mlops_deploy.vpc import (  # noqa: F401 (the app's names for them)
    DESCRIBE_NETWORK_ACTIONS,
    NETWORK_INTERFACE_ACTIONS,
    network_statements,
    vpc_placement,
)

from batch_inference.aws_lookups import ApprovedModel, StageLocation
from batch_inference.pipeline_definition import transform_pipeline_definition
from batch_inference.settings import ProjectSettings
from batch_inference.stage_config import S3Prefix, StageConfig

# Roles go under this path: the target accounts' CloudFormation execution policy (the library's
# DeploymentTargetPolicy) lets deployments create, change and pass roles under it only.
ROLE_PATH = "/mlops-deployment/"

# The role of the deploy pipeline's stage tests (buildspec-test.yml), named as the pipeline expects:
# mlops-<project id>-<stage>-tests under ROLE_PATH. IAM role names take at most 64 characters.
TEST_ROLE_NAME = "mlops-{project_id}-{stage}-tests"
MAX_ROLE_NAME = 64

# Default input and output go under batch/<project name>-<stage>/ of the artifact bucket.
BATCH_PREFIX = "batch/"

# SageMaker Pipelines names the jobs it starts pipelines-<execution id>-<step name>-<suffix>.
PIPELINE_JOB_PREFIX = "pipelines-"

# Where SageMaker writes the logs of every transform job of an account and region.
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


def default_batch_prefix(project: ProjectSettings, stage: str) -> S3Prefix:
    """``s3://<artifact bucket>/batch/<project name>-<stage>/``: input/ and output/ go below it."""
    return S3Prefix(project.artifact_bucket, f"{BATCH_PREFIX}{project.project_name}-{stage}/")


class BatchInferenceStack(Stack):
    """Scores ``config.input`` with ``model`` on ``config.schedule``, writing to ``config.output``.

    A SageMaker model made from the approved package, a SageMaker pipeline named
    ``<project>-<stage>-batch`` whose one Transform step runs a batch transform job, and an
    EventBridge rule of the same name that starts the pipeline. Like the endpoint deploy app, a
    stage in the project's region uses the ``BootstraplessSynthesizer``: CloudFormation deploys the
    template directly. A stage in another region cannot use the package (SageMaker uses no model
    package, model data or image of another region): its model is made from the package's container,
    with the image of its region and the model data, which the deploy pipeline publishes to the
    stage's CDK bootstrap staging bucket as a file asset (mlops_deploy/regions.py, stage_model).
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
            synthesizer=stage_synthesizer(project.region, project.bootstrap_qualifier, location),
            description=f"Scheduled batch inference of project {project.project_name} ({stage})",
        )
        # SageMaker ARNs hold names in lowercase, and IAM compares ARNs case-sensitively: a
        # lowercase name makes the pipeline's name and ARN agree. At most 32 + 1 + 20 + 6 = 59
        # characters (project and stage names), within the rule name's 64.
        self.batch_name = f"{project.project_name}-{stage}-batch".lower()
        self.pipeline_arn = f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:pipeline/{self.batch_name}"
        self.rule_arn = f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{self.batch_name}"
        self._boundary = self._permissions_boundary(project)
        self.in_project_region = in_project_region(project.region, location)
        # The key that encrypts the output and the jobs' volumes: the stage's own (kms_key_arn), else
        # the project's in its region; none in another region, where the project's key cannot serve.
        key_arn = config.kms_key_arn or (project.artifact_bucket_kms_key_arn if self.in_project_region else None)
        network = project.stage_networks.get(stage)
        self._vpc = vpc_placement(self, network, "the batch transform jobs") if network else None

        # From the package in the project's region, from its container in another one.
        made_of = stage_model(
            self, stage=stage, project_name=project.project_name, project_region=project.region, package=model
        )
        model_role, model_policy = self._role(
            "ModelExecutionRole",
            "sagemaker.amazonaws.com",
            f"Runs the batch transform jobs of {self.batch_name}",
            self._model_statements(project, made_of.image_uri, made_of.staged_model_data, config, key_arn),
        )
        cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=model_role.role_arn,
            primary_container=made_of.container,
            # The container needs no network: SageMaker fetches the model data and the input
            # before it starts. The deploy pipeline's security scan (checkov) requires this.
            enable_network_isolation=True,
            # With a stage network, SageMaker attaches the containers of the model's transform jobs
            # to its subnets (for the VPC endpoints or NAT they reach S3, ECR and CloudWatch Logs through).
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=self._vpc.subnets, security_group_ids=self._vpc.security_group_ids
            )
            if self._vpc
            else None,
        )
        # SageMaker checks the role's access to the model data when it creates the model.
        cfn_model.node.add_dependency(model_policy)

        pipeline_role, pipeline_policy = self._role(
            "PipelineExecutionRole",
            "sagemaker.amazonaws.com",
            f"Runs the steps of the {self.batch_name} SageMaker pipeline",
            self._pipeline_statements(key_arn, project.artifact_bucket_kms_key_arn),
        )
        definition = transform_pipeline_definition(cfn_model.attr_model_name, config, key_arn)
        pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.batch_name,
            pipeline_display_name=self.batch_name,
            pipeline_description=(
                f"Batch inference of project {project.project_name} ({stage}): scores {config.input.uri} "
                f"into {config.output.uri}<execution id>/"
            ),
            role_arn=pipeline_role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": self.to_json_string(definition)},
        )
        pipeline.node.add_dependency(pipeline_policy)

        schedule_role, schedule_policy = self._role(
            "ScheduleRole",
            "events.amazonaws.com",
            f"Lets the {self.batch_name} EventBridge rule start its SageMaker pipeline",
            [
                iam.PolicyStatement(
                    sid="StartBatchPipeline", actions=["sagemaker:StartPipelineExecution"], resources=[self.pipeline_arn]
                )
            ],
            # Only this account's rule of this name may use the role (confused deputy protection).
            conditions={"StringEquals": {"aws:SourceAccount": self.account, "aws:SourceArn": self.rule_arn}},
        )
        rule = events.CfnRule(
            self,
            "Schedule",
            name=self.batch_name,
            description=f"Starts the {self.batch_name} SageMaker pipeline: {config.schedule.expression} (UTC)",
            schedule_expression=config.schedule.expression,
            state="ENABLED" if config.schedule.enabled else "DISABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="BatchPipeline",
                    arn=self.pipeline_arn,
                    role_arn=schedule_role.role_arn,
                    sage_maker_pipeline_parameters=events.CfnRule.SageMakerPipelineParametersProperty(
                        pipeline_parameter_list=[]
                    ),
                    # A start that fails (throttling, the pipeline being replaced) is retried for an hour.
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=3600, maximum_retry_attempts=5
                    ),
                )
            ],
        )
        # The target names the pipeline by ARN, not by reference: wait for it and the role's policy.
        rule.node.add_dependency(pipeline, schedule_policy)

        # Only when the deploy pipeline tests each stage (STAGE_TEST_PRINCIPAL_ARN set at synth).
        self.test_role = self._test_role(project, stage) if project.stage_test_principal_arn else None

        tags = {
            "sagemaker:project-name": project.project_name,
            "sagemaker:project-id": project.project_id,
            "sagemaker:deployment-stage": stage,
        }
        for key, value in tags.items():
            Tags.of(self).add(key, value)
        # The CfnRule of older aws-cdk-lib releases (2.200 among them) takes no tags: set them
        # directly, as the newer ones render them (sorted by key).
        rule.add_property_override("Tags", [{"Key": key, "Value": tags[key]} for key in sorted(tags)])

    def _model_statements(
        self,
        project: ProjectSettings,
        image_uri: str,
        model_data: Optional[StagedModelData],
        config: StageConfig,
        key_arn: Optional[str],
    ) -> List[iam.PolicyStatement]:
        """Read the model and the input, write the output, pull the image, write the job logs.

        In another region than the project's, the model data is the one staged object ``model_data``
        (or none at all), and neither the project's bucket nor its key (both in the project's region)
        are needed.
        """
        partition = self.partition
        bucket_arn = f"arn:{partition}:s3:::{project.artifact_bucket}"
        input_bucket_arn = f"arn:{partition}:s3:::{config.input.bucket}"
        repository = EcrRepository.from_image_uri(image_uri)
        log_group_arn = f"arn:{partition}:logs:{self.region}:{self.account}:log-group:{TRANSFORM_LOG_GROUP}"
        model_statements: List[iam.PolicyStatement] = []
        if self.in_project_region:
            model_statements = [
                iam.PolicyStatement(sid="ReadModelArtifacts", actions=["s3:GetObject"], resources=[f"{bucket_arn}/*"]),
                iam.PolicyStatement(sid="ListArtifactBucket", actions=["s3:ListBucket"], resources=[bucket_arn]),
            ]
        elif model_data:
            model_statements = [
                iam.PolicyStatement(
                    sid="ReadStagedModelData", actions=["s3:GetObject"], resources=[model_data.object_arn(partition)]
                )
            ]
        key_statements = []
        if self.in_project_region:
            # The project's key encrypts the artifact bucket (model data and default input) and, unless
            # the stage names its own key, the output. GenerateDataKey and Decrypt cover S3 uploads,
            # multipart ones included.
            key_statements.append(
                iam.PolicyStatement(
                    sid="UseProjectKey",
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                    resources=[project.artifact_bucket_kms_key_arn],
                )
            )
        if config.kms_key_arn:
            # The stage's own key (kms_key_arn) encrypts the output (and may encrypt its input bucket).
            key_statements.append(
                iam.PolicyStatement(
                    sid="UseStageKey",
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                    resources=[config.kms_key_arn],
                )
            )
        if key_arn:
            key_statements.append(self._volume_key_grant(key_arn))
        statements = [
            *model_statements,
            iam.PolicyStatement(
                sid="ReadBatchInput", actions=["s3:GetObject"], resources=[f"{input_bucket_arn}/{config.input.key}*"]
            ),
            iam.PolicyStatement(
                sid="ListBatchInput",
                actions=["s3:ListBucket"],
                resources=[input_bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{config.input.key}*"}},
            ),
            iam.PolicyStatement(
                sid="WriteBatchOutput",
                actions=["s3:PutObject"],
                resources=[f"arn:{partition}:s3:::{config.output.bucket}/{config.output.key}*"],
            ),
            *key_statements,
            iam.PolicyStatement(
                sid="PullModelImage",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[repository.arn(partition)],
            ),
            # ECR has no resource to scope the login token to.
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                sid="WriteTransformLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:{PIPELINE_JOB_PREFIX}*"],
            ),
        ]
        return statements + self._network_statements()

    def _network_statements(self) -> List[iam.PolicyStatement]:
        """What SageMaker needs of a role whose model or job runs in the stage's subnets (none if not in a VPC)."""
        return network_statements(self, self._vpc)

    def _pipeline_statements(self, key_arn: Optional[str], project_key_arn: str) -> List[iam.PolicyStatement]:
        """Start, watch and stop the transform jobs of this pipeline (their names start with pipelines-),
        and let them use ``key_arn`` (the key of the output and the volumes, if any)."""
        jobs = f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:transform-job/{PIPELINE_JOB_PREFIX}*"
        statements = [
            iam.PolicyStatement(
                sid="RunTransformJobs",
                actions=[
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    # The pipeline tags the jobs it creates.
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            ),
        ]
        if key_arn:
            sid = "DescribeProjectKey" if key_arn == project_key_arn else "DescribeStageKey"
            statements.append(iam.PolicyStatement(sid=sid, actions=["kms:DescribeKey"], resources=[key_arn]))
            statements.append(self._volume_key_grant(key_arn))
        return statements

    @staticmethod
    def _volume_key_grant(key_arn: str) -> iam.PolicyStatement:
        """SageMaker encrypts the job's storage volume with the key through a grant it creates for itself."""
        return iam.PolicyStatement(
            sid="GrantVolumeKeyToSageMaker",
            actions=["kms:CreateGrant"],
            resources=[key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )

    def _test_role(self, project: ProjectSettings, stage: str) -> iam.Role:
        """The role the deploy pipeline's test build assumes to smoke-test this stage (integration_tests/).

        Trusted by that build's role only, it may read this stage's pipeline and its runs, nothing
        else: the tests start no transform job (one costs money, and the input may not be there).
        """
        name = TEST_ROLE_NAME.format(project_id=project.project_id, stage=stage)
        if len(name) > MAX_ROLE_NAME:
            raise ValueError(
                f"The stage test role name {name!r} has {len(name)} characters, more than IAM's {MAX_ROLE_NAME}: "
                "use a shorter stage name"
            )
        role = iam.Role(
            self,
            "StageTestRole",
            role_name=name,
            assumed_by=iam.ArnPrincipal(project.stage_test_principal_arn),
            description=f"Lets the deploy pipeline's tests read the {self.batch_name} SageMaker pipeline",
            path=ROLE_PATH,
            permissions_boundary=self._boundary,
        )
        iam.Policy(
            self,
            "StageTestPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadBatchPipeline",
                    actions=["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions"],
                    resources=[self.pipeline_arn],
                )
            ],
        )
        return role

    def _permissions_boundary(self, project: ProjectSettings) -> Optional[iam.IManagedPolicy]:
        if not project.role_permissions_boundary:
            return None
        return iam.ManagedPolicy.from_managed_policy_arn(
            self,
            "PermissionsBoundary",
            f"arn:{self.partition}:iam::{self.account}:policy/{project.role_permissions_boundary}",
        )

    def _role(
        self,
        construct_id: str,
        service: str,
        description: str,
        statements: List[iam.PolicyStatement],
        conditions: Optional[dict] = None,
    ) -> tuple[iam.Role, iam.Policy]:
        """A role that ``service`` assumes, with ``statements`` as its only (inline) policy."""
        role = iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal(service, conditions=conditions),
            description=description,
            path=ROLE_PATH,
            permissions_boundary=self._boundary,
        )
        policy = iam.Policy(self, construct_id.replace("Role", "Policy"), roles=[role], statements=statements)
        return role, policy
