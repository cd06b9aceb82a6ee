"""One stage's stack: execution role, SageMaker model, endpoint config, endpoint, autoscaling,
and optionally data-quality monitoring."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlparse

from aws_cdk import (
    Duration,
    Environment,
    Stack,
    Tags,
    aws_applicationautoscaling as autoscaling,
    aws_iam as iam,
    aws_sagemaker as sagemaker,
)
from constructs import Construct

from mlops_deploy.model import pull_image_statements, read_model_statements, sagemaker_model
from mlops_deploy.regions import StageModel, in_project_region, stage_model, stage_synthesizer
from mlops_deploy.stage_roles import permissions_boundary, service_role, stage_test_role
from mlops_deploy.vpc import network_statements, vpc_placement

from deploy_endpoint.aws_lookups import ApprovedModel, DataQualityBaseline, StageLocation
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import StageConfig

VARIANT_NAME = "AllTraffic"

# Captured requests go under this prefix of the artifact bucket, the only part of it that the
# project lets deployment accounts write: datacapture/<project name>-<stage>/.
DATA_CAPTURE_PREFIX = "datacapture/"

# Monitoring reports go under monitoring/<project name>-<stage>/ of the artifact bucket.
MONITORING_PREFIX = "monitoring/"
# Processing jobs, monitoring executions among them, log to this group.
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
# Where the analyzer's container finds the captured requests and writes its reports.
MONITORING_INPUT_PATH = "/opt/ml/processing/input/endpoint"
MONITORING_OUTPUT_PATH = "/opt/ml/processing/output"
# An hourly schedule's job must end within the hour.
MONITORING_MAX_RUNTIME_SECONDS = 1800
MONITORING_VOLUME_GB = 20
# Where data-quality monitoring jobs publish their metrics (feature drift, violations).
MONITORING_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"

# SageMaker's Model Monitor analyzer image (sagemaker-model-monitor-analyzer): the AWS account that
# holds it in each region, as the SageMaker Python SDK lists it (image_uri_config/model-monitor.json).
MODEL_MONITOR_IMAGE_ACCOUNTS = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}


def model_monitor_image_uri(region: str) -> str:
    """The Model Monitor analyzer image of ``region``."""
    account = MODEL_MONITOR_IMAGE_ACCOUNTS.get(region)
    if account is None:
        raise ValueError(
            f"No Model Monitor analyzer image known for region {region}: add its account to "
            "MODEL_MONITOR_IMAGE_ACCOUNTS in deploy_endpoint/endpoint_stack.py (see the SageMaker "
            "documentation, 'Amazon SageMaker Model Monitor prebuilt container'), or turn monitoring off for the stage"
        )
    suffix = ".cn" if region.startswith("cn-") else ""
    return f"{account}.dkr.ecr.{region}.amazonaws.com{suffix}/sagemaker-model-monitor-analyzer"


@dataclass(frozen=True)
class CaptureDestination:
    """Where the endpoint writes captured requests: a prefix of a bucket, and the key it encrypts them
    with (None: the bucket's default encryption)."""

    bucket: str
    prefix: str
    kms_key_arn: Optional[str]

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def objects_arn(self, partition: str) -> str:
        """The objects under the prefix (SageMaker adds <endpoint>/<variant>/<date>/ to it)."""
        return f"arn:{partition}:s3:::{self.bucket}/{self.prefix}/*" if self.prefix else f"arn:{partition}:s3:::{self.bucket}/*"


def s3_object_arn(partition: str, s3_uri: str) -> str:
    """``s3://bucket/key`` as ``arn:<partition>:s3:::bucket/key``."""
    parsed = urlparse(s3_uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"Not an S3 object URI: {s3_uri!r}")
    return f"arn:{partition}:s3:::{parsed.netloc}/{parsed.path.lstrip('/')}"


class EndpointStack(Stack):
    """Serves ``model`` on a real-time endpoint named ``<project>-<stage>``.

    In the project's region the template deploys through CloudFormation alone (the deploy
    pipeline does not run ``cdk deploy``), so it uses the ``BootstraplessSynthesizer``: no
    bootstrap version check and no assets, and the model is created from the approved package.
    In another region SageMaker cannot use the package (nor its image and model data, which are
    in the project's region): the stack uses the CDK bootstrap of the stage's account and region,
    whose staging bucket receives the model data (an asset the pipeline publishes before it
    deploys), and the model runs the image of the stage's region (mlops_deploy/regions.py, stage_model).
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
            description=f"SageMaker endpoint of project {project.project_name} ({stage})",
        )
        self.endpoint_name = f"{project.project_name}-{stage}"
        capture_prefix = f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}"
        # app_builder stops before any stack if a stage in another region captures data without a
        # destination of its own region, or is monitored.
        self.in_project_region = in_project_region(project.region, location)
        capture = self._capture_destination(project, config, capture_prefix)

        self._boundary = permissions_boundary(self, project.role_permissions_boundary)
        network = project.stage_networks.get(stage)
        self._vpc = vpc_placement(self, network, "the endpoint's model") if network else None
        # From the package in the project's region, from its container in another one.
        made_of = stage_model(
            self, stage=stage, project_name=project.project_name, project_region=project.region, package=model
        )
        role, policy = self._execution_role(project, made_of, capture)
        cfn_model = sagemaker_model(self, made_of, role=role, policy=policy, vpc=self._vpc)

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
            data_capture_config=self._data_capture(config, capture),
        )

        endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=endpoint_config.attr_endpoint_config_name,
        )

        if config.autoscaling:
            self._autoscaling(endpoint, config)

        if project.stage_test_principal_arn:
            self._stage_test_role(project, stage)

        if config.monitored(project.model_monitoring):
            # app_builder stops before any stack if the package has no baseline, or if the stage is in
            # another region (the baseline and the reports are in the project's region).
            assert model.data_quality_baseline is not None and self.in_project_region and capture is not None
            self._data_quality_monitoring(project, model, config, endpoint, capture)

        for key, value in {
            "sagemaker:project-name": project.project_name,
            "sagemaker:project-id": project.project_id,
            "sagemaker:deployment-stage": stage,
        }.items():
            Tags.of(self).add(key, value)

    def _capture_destination(
        self, project: ProjectSettings, config: StageConfig, capture_prefix: str
    ) -> Optional[CaptureDestination]:
        """Where captured requests go, if the endpoint captures: data_capture.destination_s3_uri of the
        stage's YAML, else datacapture/<endpoint>/ of the artifact bucket with the project's key."""
        capture = config.data_capture
        if not capture.enabled:
            return None
        if capture.destination_s3_uri:
            return CaptureDestination(capture.destination_bucket, capture.destination_prefix, capture.kms_key_arn)
        assert self.in_project_region
        return CaptureDestination(project.artifact_bucket, capture_prefix, project.artifact_bucket_kms_key_arn)

    def _execution_role(
        self, project: ProjectSettings, made_of: StageModel, capture: Optional[CaptureDestination]
    ) -> tuple[iam.Role, iam.Policy]:
        """A role that can read the model, pull its image and write its logs, and little else."""
        statements = read_model_statements(
            self, made_of, artifact_bucket=project.artifact_bucket, in_project_region=self.in_project_region
        )
        # The artifact bucket (in DEV) is encrypted with the DEV account's key.
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
        if capture:
            # Captured requests are written under one prefix only: of the artifact bucket (the only
            # one the project lets the stage's account write), or of the stage's YAML destination.
            statements.append(
                iam.PolicyStatement(sid="WriteDataCapture", actions=["s3:PutObject"], resources=[capture.objects_arn(self.partition)])
            )
            if capture.kms_key_arn == project.artifact_bucket_kms_key_arn:
                key_actions += ["kms:Encrypt", "kms:GenerateDataKey"]
            elif capture.kms_key_arn:
                statements.append(
                    iam.PolicyStatement(
                        sid="UseDataCaptureKey", actions=["kms:Encrypt", "kms:GenerateDataKey"], resources=[capture.kms_key_arn]
                    )
                )
        if self.in_project_region:
            statements.append(
                iam.PolicyStatement(sid="UseArtifactKey", actions=key_actions, resources=[project.artifact_bucket_kms_key_arn])
            )
        statements += pull_image_statements(self, made_of.image_uri)
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
        statements += network_statements(self, self._vpc)
        return service_role(
            self,
            "ModelExecutionRole",
            service="sagemaker.amazonaws.com",
            description=f"Runs the {self.endpoint_name} SageMaker endpoint",
            statements=statements,
            boundary=self._boundary,
        )

    def _stage_test_role(self, project: ProjectSettings, stage: str) -> iam.Role:
        """The role the deploy pipeline's stage tests (buildspec-test.yml) act through: its test
        project's role alone may assume it, and it may only describe and invoke this endpoint."""
        assert project.stage_test_principal_arn
        # SageMaker endpoint ARNs hold the endpoint's name in lower case.
        endpoint_arn = f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:endpoint/{self.endpoint_name.lower()}"
        return stage_test_role(
            self,
            project_id=project.project_id,
            stage=stage,
            principal_arn=project.stage_test_principal_arn,
            description=f"Integration tests of the {self.endpoint_name} SageMaker endpoint (deploy pipeline)",
            statements=[
                iam.PolicyStatement(
                    sid="TestEndpoint",
                    actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
                    resources=[endpoint_arn],
                )
            ],
            boundary=self._boundary,
            # buildspec-test.yml asks for sessions of an hour (--duration-seconds 3600).
            max_session_duration=Duration.hours(1),
        )

    def _data_quality_monitoring(
        self,
        project: ProjectSettings,
        model: ApprovedModel,
        config: StageConfig,
        endpoint: sagemaker.CfnEndpoint,
        capture: CaptureDestination,
    ) -> None:
        """A schedule that compares the captured requests with the model's data-quality baseline."""
        baseline = model.data_quality_baseline
        assert baseline is not None
        output_prefix = f"{MONITORING_PREFIX}{self.endpoint_name}"
        role, policy = self._monitoring_role(project, baseline, capture, output_prefix)
        key = project.artifact_bucket_kms_key_arn
        properties = dict(
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=model_monitor_image_uri(self.region),
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=baseline.constraints_s3_uri
                ),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=baseline.statistics_s3_uri
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    # attr_endpoint_name (not the plain name) makes CloudFormation wait for the endpoint.
                    endpoint_name=endpoint.attr_endpoint_name,
                    local_path=MONITORING_INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                ),
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=key,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=MONITORING_OUTPUT_PATH,
                            s3_uri=f"s3://{project.artifact_bucket}/{output_prefix}",
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=config.monitoring.instance_type,
                    volume_size_in_gb=MONITORING_VOLUME_GB,
                    volume_kms_key_id=key,
                )
            ),
            # The analyzer needs no network: SageMaker copies the captured data in and the reports out
            # (through the stage's subnets, if it has a network).
            network_config=sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
                vpc_config=sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty(
                    subnets=self._vpc.subnets, security_group_ids=self._vpc.security_group_ids
                )
                if self._vpc
                else None,
            ),
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=MONITORING_MAX_RUNTIME_SECONDS
            ),
        )
        job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "DataQualityJobDefinition",
            # Every property of a job definition is replaced, not updated: a name that changes with
            # what it holds (the baseline of each newly approved model, above all) lets
            # CloudFormation create the new definition before it deletes the old one.
            job_definition_name=self._job_definition_name(model, config, project, output_prefix),
            role_arn=role.role_arn,
            **properties,
        )
        # SageMaker checks the role when it creates the definition: wait for the role's policy too.
        job_definition.node.add_dependency(policy)
        schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "DataQualityMonitoringSchedule",
            monitoring_schedule_name=f"{self.endpoint_name}-data-quality"[:63].rstrip("-"),
            endpoint_name=endpoint.attr_endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=job_definition.job_definition_name,
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=config.monitoring.schedule
                ),
            ),
        )
        schedule.add_dependency(job_definition)

    def _job_definition_name(
        self, model: ApprovedModel, config: StageConfig, project: ProjectSettings, output_prefix: str
    ) -> str:
        """``<endpoint name>-dq-<hash of what the definition holds>``, at most 63 characters."""
        held = {
            "package": model.model_package_arn,
            "baseline": [model.data_quality_baseline.statistics_s3_uri, model.data_quality_baseline.constraints_s3_uri]
            if model.data_quality_baseline
            else None,
            "instance_type": config.monitoring.instance_type,
            "output": output_prefix,
            "bucket": project.artifact_bucket,
            "key": project.artifact_bucket_kms_key_arn,
            "region": self.region,
            "version": 1,  # raise when the definition's fixed properties change
        }
        if self._vpc:
            # Only with a network, so the names of definitions outside a VPC stay as they were.
            held["network"] = self._vpc.network.describe()
        digest = hashlib.sha256(json.dumps(held, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.endpoint_name[:49].rstrip('-')}-dq-{digest}"

    def _monitoring_role(
        self, project: ProjectSettings, baseline: DataQualityBaseline, capture: CaptureDestination, output_prefix: str
    ) -> tuple[iam.Role, iam.Policy]:
        """A role that reads the captured requests and the baseline, and writes the reports, and little else."""
        bucket_arn = f"arn:{self.partition}:s3:::{project.artifact_bucket}"
        baseline_objects = [
            s3_object_arn(self.partition, baseline.statistics_s3_uri),
            s3_object_arn(self.partition, baseline.constraints_s3_uri),
        ]
        log_group_arn = f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{PROCESSING_LOG_GROUP}"
        statements = [
            iam.PolicyStatement(sid="ReadCapturedData", actions=["s3:GetObject"], resources=[capture.objects_arn(self.partition)]),
            iam.PolicyStatement(
                sid="ListCapturedData",
                actions=["s3:ListBucket"],
                resources=[f"arn:{self.partition}:s3:::{capture.bucket}"],
                conditions={"StringLike": {"s3:prefix": [capture.prefix, f"{capture.prefix}/*"]}} if capture.prefix else None,
            ),
            # Captured requests under a destination of the stage's YAML, encrypted with its own key.
            *(
                [iam.PolicyStatement(sid="ReadCapturedDataKey", actions=["kms:Decrypt"], resources=[capture.kms_key_arn])]
                if capture.kms_key_arn and capture.kms_key_arn != project.artifact_bucket_kms_key_arn
                else []
            ),
            iam.PolicyStatement(sid="ReadBaseline", actions=["s3:GetObject"], resources=baseline_objects),
            iam.PolicyStatement(
                sid="WriteMonitoringReports", actions=["s3:PutObject"], resources=[f"{bucket_arn}/{output_prefix}/*"]
            ),
            # The project's key encrypts the artifact bucket (captured data, baseline) and the reports.
            iam.PolicyStatement(
                sid="UseArtifactKey",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                resources=[project.artifact_bucket_kms_key_arn],
            ),
            # SageMaker encrypts the job's storage volume with the key through a grant it creates for itself.
            iam.PolicyStatement(
                sid="GrantVolumeKeyToSageMaker",
                actions=["kms:CreateGrant"],
                resources=[project.artifact_bucket_kms_key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            # The analyzer image, in the AWS account that holds it in this region.
            *pull_image_statements(self, model_monitor_image_uri(self.region), sid="PullAnalyzerImage"),
            # The job publishes its drift metrics; PutMetricData has no resource, only the namespace.
            iam.PolicyStatement(
                sid="PublishDataQualityMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": MONITORING_METRICS_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="WriteMonitoringLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[log_group_arn, f"{log_group_arn}:log-stream:*"],
            ),
            # The jobs run in the stage's subnets too, if it has a network.
            *network_statements(self, self._vpc),
        ]
        return service_role(
            self,
            "MonitoringRole",
            service="sagemaker.amazonaws.com",
            description=f"Runs the data-quality monitoring jobs of the {self.endpoint_name} SageMaker endpoint",
            statements=statements,
            boundary=self._boundary,
        )

    @staticmethod
    def _data_capture(
        config: StageConfig, capture: Optional[CaptureDestination]
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
        if capture is None:
            return None
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=config.data_capture.sampling_percentage,
            destination_s3_uri=capture.s3_uri,
            # None: the destination bucket's default encryption.
            kms_key_id=capture.kms_key_arn,
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
