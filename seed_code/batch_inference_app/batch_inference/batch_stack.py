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

from mlops_deploy.model import pull_image_statements, read_model_statements, sagemaker_model
from mlops_deploy.regions import StageModel, in_project_region, stage_model, stage_synthesizer
from mlops_deploy.stage_roles import permissions_boundary, service_role, stage_test_role
from mlops_deploy.vpc import network_statements, vpc_placement

from batch_inference.aws_lookups import ApprovedModel, StageLocation
from batch_inference.pipeline_definition import transform_pipeline_definition
from batch_inference.settings import ProjectSettings
from batch_inference.stage_config import S3Prefix, StageConfig

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
        self._boundary = permissions_boundary(self, project.role_permissions_boundary)
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
        model_role, model_policy = service_role(
            self,
            "ModelExecutionRole",
            service="sagemaker.amazonaws.com",
            description=f"Runs the batch transform jobs of {self.batch_name}",
            statements=self._model_statements(project, made_of, config, key_arn),
            boundary=self._boundary,
        )
        cfn_model = sagemaker_model(self, made_of, role=model_role, policy=model_policy, vpc=self._vpc)

        pipeline_role, pipeline_policy = service_role(
            self,
            "PipelineExecutionRole",
            service="sagemaker.amazonaws.com",
            description=f"Runs the steps of the {self.batch_name} SageMaker pipeline",
            statements=self._pipeline_statements(key_arn, project.artifact_bucket_kms_key_arn),
            boundary=self._boundary,
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

        schedule_role, schedule_policy = service_role(
            self,
            "ScheduleRole",
            service="events.amazonaws.com",
            description=f"Lets the {self.batch_name} EventBridge rule start its SageMaker pipeline",
            statements=[
                iam.PolicyStatement(
                    sid="StartBatchPipeline", actions=["sagemaker:StartPipelineExecution"], resources=[self.pipeline_arn]
                )
            ],
            boundary=self._boundary,
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
        self, project: ProjectSettings, made_of: StageModel, config: StageConfig, key_arn: Optional[str]
    ) -> List[iam.PolicyStatement]:
        """Read the model and the input, write the output, pull the image, write the job logs.

        In another region than the project's, the model data is the one staged object (or none at
        all), and neither the project's bucket nor its key (both in the project's region) are needed.
        """
        partition = self.partition
        input_bucket_arn = f"arn:{partition}:s3:::{config.input.bucket}"
        log_group_arn = f"arn:{partition}:logs:{self.region}:{self.account}:log-group:{TRANSFORM_LOG_GROUP}"
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
            *read_model_statements(
                self, made_of, artifact_bucket=project.artifact_bucket, in_project_region=self.in_project_region
            ),
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
            *pull_image_statements(self, made_of.image_uri),
            iam.PolicyStatement(
                sid="WriteTransformLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:{PIPELINE_JOB_PREFIX}*"],
            ),
        ]
        return statements + network_statements(self, self._vpc)

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
        assert project.stage_test_principal_arn
        return stage_test_role(
            self,
            project_id=project.project_id,
            stage=stage,
            principal_arn=project.stage_test_principal_arn,
            description=f"Lets the deploy pipeline's tests read the {self.batch_name} SageMaker pipeline",
            statements=[
                iam.PolicyStatement(
                    sid="ReadBatchPipeline",
                    actions=["sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions"],
                    resources=[self.pipeline_arn],
                )
            ],
            boundary=self._boundary,
        )
