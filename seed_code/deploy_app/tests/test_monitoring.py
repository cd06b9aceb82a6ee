"""Data-quality monitoring (MODEL_MONITORING=true, or `monitoring` in config/<stage>.yml):
a job definition and schedule per monitored stage, over the approved package's baseline."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from deploy_endpoint.app_builder import build_app
from deploy_endpoint.aws_lookups import DataQualityBaseline, MissingBaselineError
from deploy_endpoint.endpoint_stack import model_monitor_image_uri, s3_object_arn
from deploy_endpoint.stage_config import CONFIG_DIR

from .conftest import (
    BASELINE,
    CONSTRAINTS_URI,
    KMS_KEY_ARN,
    PACKAGE_ARN,
    PROJECT,
    STAGE_ACCOUNTS,
    STATISTICS_URI,
    stub_locator,
    stub_registry,
    synth_templates,
)
from .conftest import render
from .test_app import only, resources

MONITORED = dataclasses.replace(PROJECT, model_monitoring=True)
WITH_BASELINE = {"DriftCheckBaselines": BASELINE, "ModelMetrics": BASELINE}
BUCKET_ARN = f"arn:aws:s3:::{PROJECT.artifact_bucket}"
MONITORING_TYPES = {
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule",
}


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = [k for k, r in template["Resources"].items() if r["Type"] == resource_type]
    return found


def monitoring_statements(template: dict) -> dict:
    policy = template["Resources"][
        next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy" and k.startswith("MonitoringPolicy"))
    ]["Properties"]
    return {s["Sid"]: {**s, "Resource": render(s["Resource"])} for s in policy["PolicyDocument"]["Statement"]}


def write_config(tmp_path: Path, stage: str, extra: str) -> Path:
    """A copy of the shipped config/ in ``tmp_path``/config whose ``stage`` file has ``extra`` appended."""
    tmp_path = tmp_path / "config"
    tmp_path.mkdir()
    for path in CONFIG_DIR.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / f"{stage}.yml").write_text((tmp_path / f"{stage}.yml").read_text() + extra)
    return tmp_path


# --- Off by default ----------------------------------------------------------------------------


def test_no_monitoring_by_default(default_templates):
    for template in default_templates.values():
        assert not {r["Type"] for r in template["Resources"].values()} & MONITORING_TYPES
        assert len(resources(template, "AWS::IAM::Role")) == 1


def test_a_package_with_a_baseline_changes_nothing_while_monitoring_is_off(tmp_path, default_templates):
    assert synth_templates(tmp_path, package_extra=WITH_BASELINE) == default_templates


# --- On: what each monitored stage gets --------------------------------------------------------


def test_every_capturing_stage_is_monitored(monitoring_templates):
    for stage, template in monitoring_templates.items():
        job = only(template, "AWS::SageMaker::DataQualityJobDefinition")
        schedule = only(template, "AWS::SageMaker::MonitoringSchedule")
        assert schedule["MonitoringScheduleName"] == f"my-project-{stage}-data-quality"
        config = schedule["MonitoringScheduleConfig"]
        assert config["MonitoringType"] == "DataQuality"
        assert config["MonitoringJobDefinitionName"] == job["JobDefinitionName"]
        assert config["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
        assert job["JobDefinitionName"].startswith(f"my-project-{stage}-dq-")
        assert len(job["JobDefinitionName"]) <= 63


def test_job_definition_monitors_the_endpoint_against_the_package_baseline(monitoring_templates):
    template = monitoring_templates["prod"]
    job = only(template, "AWS::SageMaker::DataQualityJobDefinition")
    endpoint_id = logical_id(template, "AWS::SageMaker::Endpoint")
    assert job["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    assert job["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": CONSTRAINTS_URI},
        "StatisticsResource": {"S3Uri": STATISTICS_URI},
    }
    assert job["DataQualityAppSpecification"]["ImageUri"] == (
        "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600


def test_reports_and_volume_are_encrypted_with_the_project_key(monitoring_templates):
    for stage, template in monitoring_templates.items():
        job = only(template, "AWS::SageMaker::DataQualityJobDefinition")
        output = job["DataQualityJobOutputConfig"]
        assert output["KmsKeyId"] == KMS_KEY_ARN
        (report,) = output["MonitoringOutputs"]
        assert report["S3Output"]["S3Uri"] == f"s3://{PROJECT.artifact_bucket}/monitoring/my-project-{stage}"
        cluster = job["JobResources"]["ClusterConfig"]
        assert cluster["VolumeKmsKeyId"] == KMS_KEY_ARN
        assert (cluster["InstanceType"], cluster["InstanceCount"]) == ("ml.m5.large", 1)


def test_schedule_waits_for_its_definition_and_the_definition_for_its_role_policy(monitoring_templates):
    template = monitoring_templates["prod"]
    resources_ = template["Resources"]
    job_id = logical_id(template, "AWS::SageMaker::DataQualityJobDefinition")
    schedule_id = logical_id(template, "AWS::SageMaker::MonitoringSchedule")
    assert job_id in resources_[schedule_id]["DependsOn"]
    policy_id = next(k for k, r in resources_.items() if r["Type"] == "AWS::IAM::Policy" and k.startswith("MonitoringPolicy"))
    assert policy_id in resources_[job_id]["DependsOn"]
    role_id = next(k for k, r in resources_.items() if r["Type"] == "AWS::IAM::Role" and k.startswith("MonitoringRole"))
    assert only(template, "AWS::SageMaker::DataQualityJobDefinition")["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_monitoring_role_is_least_privilege(monitoring_templates):
    template = monitoring_templates["prod"]
    statements = monitoring_statements(template)
    assert statements["ReadCapturedData"]["Resource"] == f"{BUCKET_ARN}/datacapture/my-project-prod/*"
    assert statements["ListCapturedData"]["Resource"] == BUCKET_ARN
    assert statements["ListCapturedData"]["Condition"] == {
        "StringLike": {"s3:prefix": ["datacapture/my-project-prod", "datacapture/my-project-prod/*"]}
    }
    assert statements["ReadBaseline"]["Resource"] == [
        s3_object_arn("aws", STATISTICS_URI),
        s3_object_arn("aws", CONSTRAINTS_URI),
    ]
    assert statements["WriteMonitoringReports"]["Resource"] == f"{BUCKET_ARN}/monitoring/my-project-prod/*"
    assert statements["UseArtifactKey"]["Resource"] == KMS_KEY_ARN
    assert statements["GrantVolumeKeyToSageMaker"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert statements["PullAnalyzerImage"]["Resource"] == (
        "arn:aws:ecr:eu-west-1:468650794304:repository/sagemaker-model-monitor-analyzer"
    )
    log_group = f"arn:aws:logs:eu-west-1:{STAGE_ACCOUNTS['prod']}:log-group:/aws/sagemaker/ProcessingJobs"
    assert statements["WriteMonitoringLogs"]["Resource"] == [log_group, f"{log_group}:log-stream:*"]
    assert statements["PublishDataQualityMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}
    }
    # Only what has no resource may use "*".
    assert sorted(sid for sid, s in statements.items() if s["Resource"] == "*") == ["EcrLogin", "PublishDataQualityMetrics"]
    # Nothing writes outside the reports' prefix.
    writes = [s for s in statements.values() if "s3:PutObject" in s["Action"]]
    assert [s["Sid"] for s in writes] == ["WriteMonitoringReports"]


def test_the_endpoint_role_is_unchanged_by_monitoring(monitoring_templates, default_templates):
    for stage in ("preprod", "prod"):
        def model_policy(template):
            (policy,) = [
                r["Properties"] for k, r in template["Resources"].items()
                if r["Type"] == "AWS::IAM::Policy" and k.startswith("ModelExecutionPolicy")
            ]
            return policy
        assert model_policy(monitoring_templates[stage]) == model_policy(default_templates[stage])


def test_the_job_definition_is_renamed_when_the_model_changes(tmp_path):
    other_baseline = json.loads(json.dumps(BASELINE).replace("execution-1", "execution-2"))
    names = []
    for baseline in (BASELINE, other_baseline, BASELINE):
        out = tmp_path / str(len(names))
        templates = synth_templates(out, MONITORED, package_extra={"DriftCheckBaselines": baseline})
        names.append(only(templates["prod"], "AWS::SageMaker::DataQualityJobDefinition")["JobDefinitionName"])
    # Its properties can only be replaced: a new name lets CloudFormation create the new one first.
    assert names[0] != names[1]
    assert names[0] == names[2]


# --- Which stages, and their settings ----------------------------------------------------------


def test_the_env_monitors_only_the_stages_that_capture_data(tmp_path):
    templates = synth_templates(tmp_path, MONITORED, package_extra=WITH_BASELINE)
    monitored = sorted(s for s, t in templates.items() if resources(t, "AWS::SageMaker::MonitoringSchedule"))
    # The shipped dev.yml captures nothing.
    assert monitored == ["preprod", "prod"]


def test_stage_settings_override_the_env(tmp_path):
    config_dir = write_config(
        tmp_path, "prod", "monitoring:\n  enabled: true\n  schedule: cron(0 0 ? * * *)\n  instance_type: ml.m5.xlarge\n"
    )
    (config_dir / "preprod.yml").write_text((config_dir / "preprod.yml").read_text() + "monitoring:\n  enabled: false\n")
    templates = synth_templates(tmp_path / "out", PROJECT, config_dir=config_dir, package_extra=WITH_BASELINE)
    assert resources(templates["preprod"], "AWS::SageMaker::MonitoringSchedule") == []
    schedule = only(templates["prod"], "AWS::SageMaker::MonitoringSchedule")
    assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"] == {"ScheduleExpression": "cron(0 0 ? * * *)"}
    job = only(templates["prod"], "AWS::SageMaker::DataQualityJobDefinition")
    assert job["JobResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"

    # The same preprod.yml turns monitoring off even with MODEL_MONITORING=true.
    templates = synth_templates(tmp_path / "out2", MONITORED, config_dir=config_dir, package_extra=WITH_BASELINE)
    assert resources(templates["preprod"], "AWS::SageMaker::MonitoringSchedule") == []


# --- The baseline ------------------------------------------------------------------------------


def test_no_baseline_stops_synth_with_what_to_do(tmp_path):
    registry, _ = stub_registry()
    locator, _ = stub_locator(MONITORED.stages)
    with pytest.raises(MissingBaselineError) as raised:
        build_app(MONITORED, registry, locator, outdir=str(tmp_path))
    message = str(raised.value)
    assert "Model monitoring is on for stage(s) preprod, prod" in message
    assert PACKAGE_ARN in message
    assert "MODEL_MONITORING=true" in message
    assert "retrain" in message
    assert list(tmp_path.glob("*.template.json")) == []


def test_no_baseline_is_fine_while_monitoring_is_off(tmp_path):
    assert sorted(synth_templates(tmp_path)) == ["dev", "preprod", "prod"]


@pytest.mark.parametrize(
    "package, expected",
    [
        ({"DriftCheckBaselines": BASELINE}, DataQualityBaseline(STATISTICS_URI, CONSTRAINTS_URI)),
        ({"ModelMetrics": BASELINE}, DataQualityBaseline(STATISTICS_URI, CONSTRAINTS_URI)),
        (
            {
                "DriftCheckBaselines": BASELINE,
                "ModelMetrics": json.loads(json.dumps(BASELINE).replace("execution-1", "other")),
            },
            DataQualityBaseline(STATISTICS_URI, CONSTRAINTS_URI),
        ),
        ({"ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": STATISTICS_URI}}}}, None),
        ({"DriftCheckBaselines": {"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": STATISTICS_URI}}}}, None),
        ({}, None),
    ],
)
def test_baseline_of_a_package(package, expected):
    assert DataQualityBaseline.of_package(package) == expected


def test_the_lookup_reads_the_baseline_with_the_package():
    registry, stubber = stub_registry(package_extra={"DriftCheckBaselines": BASELINE})
    model = registry.latest_approved(PROJECT.model_package_group_name)
    stubber.assert_no_pending_responses()
    assert model.data_quality_baseline == DataQualityBaseline(STATISTICS_URI, CONSTRAINTS_URI)


def test_analyzer_image_per_region():
    assert model_monitor_image_uri("us-east-1") == "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    assert model_monitor_image_uri("cn-north-1") == (
        "453000072557.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-model-monitor-analyzer"
    )
    with pytest.raises(ValueError, match="No Model Monitor analyzer image known for region xx-east-9"):
        model_monitor_image_uri("xx-east-9")


def test_s3_object_arn():
    assert s3_object_arn("aws", "s3://b/k/statistics.json") == "arn:aws:s3:::b/k/statistics.json"
    with pytest.raises(ValueError, match="Not an S3 object URI"):
        s3_object_arn("aws", "s3://b/")
