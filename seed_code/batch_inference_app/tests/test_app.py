"""Synthesize the batch inference app with the model registry and SSM stubbed, and check the templates."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from batch_inference.app_builder import build_app
from batch_inference.aws_lookups import NoApprovedModelError
from batch_inference.stage_config import StageConfigError

from .conftest import (
    GROUP,
    KMS_KEY_ARN,
    PACKAGE_ARN,
    PROJECT,
    REGION,
    STAGE_ACCOUNTS,
    render,
    stub_locator,
    stub_registry,
    synth_templates,
)

APP_DIR = Path(__file__).resolve().parents[1]
BUCKET = PROJECT.artifact_bucket
TAGS = {"sagemaker:project-name": "my-project", "sagemaker:project-id": "p-abc123"}


def resources(template: dict, resource_type: str) -> list:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def only(template: dict, resource_type: str) -> dict:
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = [k for k, r in template["Resources"].items() if r["Type"] == resource_type]
    return found


def pipeline_definition(template: dict) -> dict:
    """The pipeline's JSON definition, with the model's generated name as ``<ModelName>``."""
    body = only(template, "AWS::SageMaker::Pipeline")["PipelineDefinition"]["PipelineDefinitionBody"]
    model_name = {"Fn::GetAtt": [logical_id(template, "AWS::SageMaker::Model"), "ModelName"]}
    separator, parts = body["Fn::Join"]
    return json.loads(separator.join("<ModelName>" if p == model_name else p for p in parts))


def transform_arguments(template: dict) -> dict:
    (step,) = pipeline_definition(template)["Steps"]
    assert (step["Name"], step["Type"]) == ("BatchTransform", "Transform")
    return step["Arguments"]


def role_policies(template: dict) -> dict:
    """Each role's trusted service and inline policy statements (by Sid), keyed by role logical id."""
    roles = {}
    for role_id, role in template["Resources"].items():
        if role["Type"] != "AWS::IAM::Role":
            continue
        (policy,) = [
            r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": role_id}]
        ]
        statements = {
            s["Sid"]: {**s, "Resource": render(s["Resource"])} for s in policy["PolicyDocument"]["Statement"]
        }
        roles[role_id] = {"trust": role["Properties"]["AssumeRolePolicyDocument"]["Statement"], "statements": statements}
    return roles


def role(template: dict, prefix: str) -> dict:
    (found,) = [v for k, v in role_policies(template).items() if k.startswith(prefix)]
    return found


def test_one_self_contained_template_per_stage(default_templates):
    assert sorted(default_templates) == ["dev", "preprod", "prod"]
    for template in default_templates.values():
        # CloudFormation deploys these directly: nothing may need CDK bootstrap or assets.
        assert "Rules" not in template
        assert "BootstrapVersion" not in template.get("Parameters", {})
        assert not any(r["Type"] == "AWS::CDK::Metadata" for r in template["Resources"].values())
        assert "cdk-hnb659fds-assets" not in json.dumps(template)
        assert sorted(r["Type"] for r in template["Resources"].values()) == sorted(
            ["AWS::IAM::Role"] * 3 + ["AWS::IAM::Policy"] * 3
            + ["AWS::SageMaker::Model", "AWS::SageMaker::Pipeline", "AWS::Events::Rule"]
        )


def test_each_stage_scores_with_the_approved_package(default_templates):
    for template in default_templates.values():
        model = only(template, "AWS::SageMaker::Model")
        assert model["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}
        # The deploy pipeline's checkov scan fails a model without network isolation.
        assert model["EnableNetworkIsolation"] is True
        assert transform_arguments(template)["ModelName"] == "<ModelName>"


def test_everything_is_named_after_project_and_stage_and_tagged(default_templates):
    for stage, template in default_templates.items():
        pipeline = only(template, "AWS::SageMaker::Pipeline")
        assert pipeline["PipelineName"] == f"my-project-{stage}-batch"
        assert only(template, "AWS::Events::Rule")["Name"] == f"my-project-{stage}-batch"
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy":
                continue  # inline policies take no tags
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags == {**TAGS, "sagemaker:deployment-stage": stage}, resource["Type"]


def test_the_pipeline_runs_one_transform_over_the_stage_prefixes(default_templates):
    for stage, template in default_templates.items():
        prefix = f"s3://{BUCKET}/batch/my-project-{stage}/"
        definition = pipeline_definition(template)
        assert definition["Version"] == "2020-12-01"
        assert definition["Parameters"] == [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": prefix + "input/"}]
        arguments = transform_arguments(template)
        assert arguments["TransformInput"] == {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": {"Get": "Parameters.InputDataUrl"}}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        }
        # Every run writes to its own folder, named by the pipeline execution id.
        assert arguments["TransformOutput"]["S3OutputPath"] == {
            "Std:Join": {"On": "", "Values": [prefix + "output/", {"Get": "Execution.PipelineExecutionId"}]}
        }
        assert arguments["TransformOutput"]["AssembleWith"] == "Line"
        assert (arguments["BatchStrategy"], arguments["MaxPayloadInMB"]) == ("MultiRecord", 6)


def test_output_and_volume_are_encrypted_with_the_project_key(default_templates):
    for template in default_templates.values():
        arguments = transform_arguments(template)
        assert arguments["TransformOutput"]["KmsKeyId"] == KMS_KEY_ARN
        assert arguments["TransformResources"]["VolumeKmsKeyId"] == KMS_KEY_ARN


def test_a_stage_key_in_the_projects_region_encrypts_output_and_volumes(tmp_path, default_templates):
    # kms_key_arn: a key of the stage's own (here: DEV's account in the project's region).
    stage_key = f"arn:aws:kms:{REGION}:{STAGE_ACCOUNTS['dev']}:key/0123abcd-0123-4567-89ab-0123456789ab"
    config_dir = tmp_path / "config"
    write_config(config_dir, "dev", (APP_DIR / "config" / "dev.yml").read_text() + f"kms_key_arn: {stage_key}\n")
    project = dataclasses.replace(PROJECT, stages=("dev",))
    template = synth_templates(tmp_path / "out", project, config_dir)["dev"]
    arguments = transform_arguments(template)
    assert arguments["TransformOutput"]["KmsKeyId"] == stage_key
    assert arguments["TransformResources"]["VolumeKmsKeyId"] == stage_key
    # The model still comes from the package in the project's bucket, under the project's key.
    model_statements = role(template, "ModelExecutionRole")["statements"]
    default_statements = role(default_templates["dev"], "ModelExecutionRole")["statements"]
    assert model_statements["UseProjectKey"] == default_statements["UseProjectKey"]
    assert model_statements["UseStageKey"] == {
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
        "Effect": "Allow",
        "Resource": stage_key,
        "Sid": "UseStageKey",
    }
    assert model_statements["GrantVolumeKeyToSageMaker"]["Resource"] == stage_key
    assert {k: v for k, v in model_statements.items() if k not in ("UseStageKey", "GrantVolumeKeyToSageMaker")} == {
        k: v for k, v in default_statements.items() if k != "GrantVolumeKeyToSageMaker"
    }
    pipeline_statements = role(template, "PipelineExecutionRole")["statements"]
    assert sorted(pipeline_statements) == ["DescribeStageKey", "GrantVolumeKeyToSageMaker", "RunTransformJobs"]
    assert pipeline_statements["DescribeStageKey"]["Resource"] == stage_key
    assert pipeline_statements["GrantVolumeKeyToSageMaker"]["Resource"] == stage_key
    assert only(template, "AWS::SageMaker::Model") == only(default_templates["dev"], "AWS::SageMaker::Model")


def test_instances_come_from_the_stage_yaml(default_templates):
    expected = {"dev": ("ml.m5.large", 1), "preprod": ("ml.m5.large", 1), "prod": ("ml.m5.xlarge", 2)}
    for stage, (instance_type, count) in expected.items():
        resources_ = transform_arguments(default_templates[stage])["TransformResources"]
        assert (resources_["InstanceType"], resources_["InstanceCount"]) == (instance_type, count)


def test_schedule_per_stage(default_templates):
    expected = {
        "dev": ("cron(0 2 ? * MON *)", "DISABLED"),
        "preprod": ("cron(0 3 ? * MON-FRI *)", "ENABLED"),
        "prod": ("cron(0 2 * * ? *)", "ENABLED"),
    }
    for stage, (expression, state) in expected.items():
        template = default_templates[stage]
        rule = only(template, "AWS::Events::Rule")
        assert (rule["ScheduleExpression"], rule["State"]) == (expression, state)
        assert "EventPattern" not in rule and "EventBusName" not in rule
        (target,) = rule["Targets"]
        pipeline_arn = f"arn:aws:sagemaker:{REGION}:{STAGE_ACCOUNTS[stage]}:pipeline/my-project-{stage}-batch"
        assert render(target["Arn"]) == pipeline_arn
        assert target["SageMakerPipelineParameters"] == {"PipelineParameterList": []}
        assert target["RoleArn"] == {"Fn::GetAtt": [logical_id_of_role(template, "ScheduleRole"), "Arn"]}
        # The rule names the pipeline by ARN: it must wait for the pipeline and the role's policy.
        depends = template["Resources"][logical_id(template, "AWS::Events::Rule")]["DependsOn"]
        assert logical_id(template, "AWS::SageMaker::Pipeline") in depends
        assert any(d.startswith("SchedulePolicy") for d in depends)


def logical_id_of_role(template: dict, prefix: str) -> str:
    (found,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(prefix)]
    return found


def test_schedule_role_may_only_start_this_pipeline(default_templates):
    for stage, template in default_templates.items():
        account = STAGE_ACCOUNTS[stage]
        schedule = role(template, "ScheduleRole")
        (trust,) = schedule["trust"]
        assert trust["Principal"] == {"Service": "events.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == account
        assert render(trust["Condition"]["StringEquals"]["aws:SourceArn"]) == (
            f"arn:aws:events:{REGION}:{account}:rule/my-project-{stage}-batch"
        )
        assert schedule["statements"] == {
            "StartBatchPipeline": {
                "Action": "sagemaker:StartPipelineExecution",
                "Effect": "Allow",
                "Resource": f"arn:aws:sagemaker:{REGION}:{account}:pipeline/my-project-{stage}-batch",
                "Sid": "StartBatchPipeline",
            }
        }


def test_pipeline_role_runs_only_pipeline_transform_jobs(default_templates):
    template = default_templates["prod"]
    pipeline = only(template, "AWS::SageMaker::Pipeline")
    assert pipeline["RoleArn"] == {"Fn::GetAtt": [logical_id_of_role(template, "PipelineExecutionRole"), "Arn"]}
    statements = role(template, "PipelineExecutionRole")["statements"]
    assert statements["RunTransformJobs"]["Resource"] == (
        f"arn:aws:sagemaker:{REGION}:{STAGE_ACCOUNTS['prod']}:transform-job/pipelines-*"
    )
    assert sorted(statements["RunTransformJobs"]["Action"]) == [
        "sagemaker:AddTags", "sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob",
    ]
    assert statements["DescribeProjectKey"]["Resource"] == KMS_KEY_ARN
    assert statements["GrantVolumeKeyToSageMaker"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # The pipeline waits for its role's policy.
    assert template["Resources"][logical_id(template, "AWS::SageMaker::Pipeline")]["DependsOn"][0].startswith(
        "PipelineExecutionPolicy"
    )


def test_model_role_is_scoped_to_the_project_and_the_stage_prefixes(default_templates):
    bucket_arn = f"arn:aws:s3:::{BUCKET}"
    for stage, template in default_templates.items():
        model_role = role(template, "ModelExecutionRole")
        assert model_role["trust"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        statements = model_role["statements"]
        assert statements["ReadModelArtifacts"]["Resource"] == f"{bucket_arn}/*"
        assert statements["ReadBatchInput"]["Resource"] == f"{bucket_arn}/batch/my-project-{stage}/input/*"
        assert statements["ListBatchInput"]["Condition"] == {"StringLike": {"s3:prefix": f"batch/my-project-{stage}/input/*"}}
        # Writing only under the stage's output prefix.
        assert statements["WriteBatchOutput"] == {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": f"{bucket_arn}/batch/my-project-{stage}/output/*",
            "Sid": "WriteBatchOutput",
        }
        assert statements["UseProjectKey"]["Resource"] == KMS_KEY_ARN
        assert statements["PullModelImage"]["Resource"] == "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
        log_group = f"arn:aws:logs:{REGION}:{STAGE_ACCOUNTS[stage]}:log-group:/aws/sagemaker/TransformJobs"
        assert statements["WriteTransformLogs"]["Resource"] == [log_group, f"{log_group}:log-stream:pipelines-*"]


def test_only_the_ecr_login_uses_a_wildcard_resource(default_templates):
    for template in default_templates.values():
        wildcards = [
            sid
            for r in role_policies(template).values()
            for sid, s in r["statements"].items()
            if "*" in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        ]
        assert wildcards == ["EcrLogin"]


def test_model_waits_for_its_role_policy(default_templates):
    template = default_templates["dev"]
    model = template["Resources"][logical_id(template, "AWS::SageMaker::Model")]
    assert any(d.startswith("ModelExecutionPolicy") for d in model["DependsOn"])


def write_config(directory: Path, stage: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{stage}.yml").write_text(text)


def test_stage_yaml_overrides_locations_format_and_schedule(tmp_path):
    config_dir = tmp_path / "config"
    write_config(
        config_dir,
        "dev",
        "instance_type: ml.c5.xlarge\n"
        "instance_count: 3\n"
        "schedule: {expression: rate(6 hours), enabled: false}\n"
        "input_s3_uri: s3://team-data-bucket/scoring/in\n"
        "output_s3_uri: s3://team-results.bucket/scoring/out/\n"
        "content_type: application/jsonlines\n"
        "accept: application/jsonlines\n"
        "split_type: None\n"
        "assemble_with: None\n"
        "batch_strategy: SingleRecord\n"
        "max_payload_mb: 20\n",
    )
    project = dataclasses.replace(PROJECT, stages=("dev",))
    template = synth_templates(tmp_path / "out", project, config_dir)["dev"]
    rule = only(template, "AWS::Events::Rule")
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(6 hours)", "DISABLED")
    definition = pipeline_definition(template)
    assert definition["Parameters"][0]["DefaultValue"] == "s3://team-data-bucket/scoring/in/"
    arguments = transform_arguments(template)
    assert arguments["TransformInput"]["ContentType"] == "application/jsonlines"
    assert arguments["TransformInput"]["SplitType"] == "None"
    assert arguments["TransformOutput"]["Accept"] == "application/jsonlines"
    assert arguments["TransformOutput"]["AssembleWith"] == "None"
    assert arguments["TransformOutput"]["S3OutputPath"]["Std:Join"]["Values"][0] == "s3://team-results.bucket/scoring/out/"
    assert (arguments["BatchStrategy"], arguments["MaxPayloadInMB"]) == ("SingleRecord", 20)
    assert arguments["TransformResources"]["InstanceType"] == "ml.c5.xlarge"
    assert arguments["TransformResources"]["InstanceCount"] == 3
    statements = role(template, "ModelExecutionRole")["statements"]
    assert statements["ReadBatchInput"]["Resource"] == "arn:aws:s3:::team-data-bucket/scoring/in/*"
    assert statements["ListBatchInput"]["Resource"] == "arn:aws:s3:::team-data-bucket"
    assert statements["WriteBatchOutput"]["Resource"] == "arn:aws:s3:::team-results.bucket/scoring/out/*"


def test_project_names_with_capitals_give_lowercase_sagemaker_names(tmp_path):
    # SageMaker ARNs hold names in lowercase; the policy and the target must match them.
    project = dataclasses.replace(PROJECT, project_name="Churn-Model", stages=("dev",))
    template = synth_templates(tmp_path, project)["dev"]
    assert only(template, "AWS::SageMaker::Pipeline")["PipelineName"] == "churn-model-dev-batch"
    statements = role(template, "ScheduleRole")["statements"]
    assert statements["StartBatchPipeline"]["Resource"].endswith(":pipeline/churn-model-dev-batch")
    # The default prefix keeps the project name as it is (S3 keys are case-sensitive, not lowercase).
    assert pipeline_definition(template)["Parameters"][0]["DefaultValue"].endswith("/batch/Churn-Model-dev/input/")


def test_stage_without_yaml_is_a_clear_error(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev", "qa"))
    registry, _ = stub_registry()
    locator, _ = stub_locator(project.stages)
    with pytest.raises(StageConfigError, match="No settings for stage 'qa': create qa.yml"):
        build_app(project, registry, locator, outdir=str(tmp_path))


def test_invalid_stage_yaml_fails_before_any_template(tmp_path):
    config_dir = tmp_path / "config"
    write_config(config_dir, "dev", "instance_type: ml.m5.large\nschedule: {expression: cron(0 2 * * * *)}\n")
    project = dataclasses.replace(PROJECT, stages=("dev",))
    registry, _ = stub_registry()
    locator, _ = stub_locator(["dev"])
    with pytest.raises(StageConfigError, match=r"dev.yml: schedule.expression 'cron\(0 2 \* \* \* \*\)' must have \?"):
        build_app(project, registry, locator, config_dir=config_dir, outdir=str(tmp_path))
    assert list(tmp_path.glob("*.template.json")) == []


def test_no_approved_model_stops_with_what_to_do(tmp_path):
    registry, stubber = stub_registry(approved=False)
    locator, _ = stub_locator([])
    with pytest.raises(NoApprovedModelError) as raised:
        build_app(PROJECT, registry, locator, outdir=str(tmp_path))
    message = str(raised.value)
    assert f"No approved model package in model package group '{GROUP}'" in message
    assert "aws sagemaker update-model-package" in message
    stubber.assert_no_pending_responses()
    assert list(tmp_path.glob("*.template.json")) == []


class StubbedSession:
    """Stands in for boto3.Session in app.py, handing out stubbed clients."""

    def __init__(self, approved: bool):
        self.clients = {"sagemaker": stub_registry(approved)[0]._sagemaker, "ssm": stub_locator(PROJECT.stages)[0]._ssm}

    def client(self, service):
        return self.clients[service]


def test_app_main_exits_non_zero_without_approved_model(project_env, monkeypatch, capsys):
    import app

    session = StubbedSession(approved=False)
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    assert app.main() == 1
    assert "ERROR: No approved model package in model package group" in capsys.readouterr().err


def test_app_main_writes_one_template_per_stage_at_the_root(project_env, monkeypatch, tmp_path):
    import app

    session = StubbedSession(approved=True)
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    assert app.main(outdir=str(tmp_path)) == 0
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [
        "dev.template.json",
        "preprod.template.json",
        "prod.template.json",
    ]


def test_buildspec_keeps_the_deploy_pipeline_contract():
    buildspec = (APP_DIR / "buildspec.yml").read_text()
    assert "python -m pytest -q -p no:cacheprovider" in buildspec
    assert "cdk synth --quiet" in buildspec
    # The asset manifests of stages in another region go with the templates (tests/test_other_region.py).
    assert "base-directory: cdk.out" in buildspec and '"*.template.json"' in buildspec and '"*.assets.json"' in buildspec
