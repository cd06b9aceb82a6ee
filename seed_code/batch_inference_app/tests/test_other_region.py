"""A stage in another region than the project's: its model is made from the package's container, with
the image of its region and the model data staged there through its CDK bootstrap
(``<stage>.assets.json``), its input and output are in its region, and neither the project's bucket
nor its key (both in the project's region) are in its template. Stages in the project's region are
unchanged. (What regions.py does alike for both deploy apps, what a stage's model is made of among
it: tests/test_deploy_regions.py, shared.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from batch_inference.app_builder import build_app
from batch_inference.stage_config import StageConfigError
from mlops_deploy.regions import MODEL_DATA_FETCH_COMMAND

from .conftest import (
    DEV_ACCOUNT,
    IMAGE_URI,
    KMS_KEY_ARN,
    MODEL_DATA_URL,
    OTHER_REGION,
    OTHER_REGION_SETTINGS,
    PACKAGE_ARN,
    PROJECT,
    REGION,
    STAGE_ACCOUNTS,
    STAGE_KEY_ARN,
    STAGE_NETWORKS,
    other_region_config,
    render,
    stub_locator,
    stub_registry,
    synth_templates,
)
from .test_app import StubbedSession, only, pipeline_definition, role, transform_arguments
from .test_target_accounts import ALLOWED, as_list, resources_of

# SageMaker's xgboost image (the stubbed package's, of the project's region) in OTHER_REGION: the
# framework images' account there, same repository and tag.
REGIONAL_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
STAGED_KEY = hashlib.sha256(MODEL_DATA_URL.encode()).hexdigest() + ".tar.gz"
OTHER_STAGES = sorted(OTHER_REGION_SETTINGS)


def staging_bucket(stage: str, qualifier: str = "hnb659fds") -> str:
    return f"cdk-{qualifier}-assets-{STAGE_ACCOUNTS[stage]}-{OTHER_REGION}"


def statement(sid: str, action, resource, condition=None) -> dict:
    """A policy statement as role_policies() renders it."""
    found = {"Action": action, "Effect": "Allow", "Resource": resource, "Sid": sid}
    if condition:
        found["Condition"] = condition
    return found


def grant_to_sagemaker(key_arn: str) -> dict:
    return statement(
        "GrantVolumeKeyToSageMaker", "kms:CreateGrant", key_arn, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    )


def expected_model_statements(stage: str) -> dict:
    """The model role's whole policy in OTHER_REGION: the staged object, the stage's prefixes, its own
    key if it names one, the image of its region, the logs."""
    settings = OTHER_REGION_SETTINGS[stage]
    data_bucket = settings["input_s3_uri"].split("/")[2]
    log_group = f"arn:aws:logs:{OTHER_REGION}:{STAGE_ACCOUNTS[stage]}:log-group:/aws/sagemaker/TransformJobs"
    statements = [
        statement("ReadStagedModelData", "s3:GetObject", f"arn:aws:s3:::{staging_bucket(stage)}/{STAGED_KEY}"),
        statement("ReadBatchInput", "s3:GetObject", f"arn:aws:s3:::{data_bucket}/batch/input/*"),
        statement(
            "ListBatchInput", "s3:ListBucket", f"arn:aws:s3:::{data_bucket}", {"StringLike": {"s3:prefix": "batch/input/*"}}
        ),
        statement("WriteBatchOutput", "s3:PutObject", f"arn:aws:s3:::{data_bucket}/batch/output/*"),
    ]
    if "kms_key_arn" in settings:
        statements += [
            statement("UseStageKey", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"], settings["kms_key_arn"]),
            grant_to_sagemaker(settings["kms_key_arn"]),
        ]
    statements += [
        statement(
            "PullModelImage",
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            f"arn:aws:ecr:{OTHER_REGION}:683313688378:repository/sagemaker-xgboost",
        ),
        statement("EcrLogin", "ecr:GetAuthorizationToken", "*"),
        statement(
            "WriteTransformLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [log_group, f"{log_group}:log-stream:pipelines-*"],
        ),
    ]
    return {s["Sid"]: s for s in statements}


# --- The templates -------------------------------------------------------------------------------


def test_stages_of_the_projects_region_are_unchanged(other_region, default_templates):
    # DEV, in the project's region, is byte for byte what it is when every stage is there.
    dev = other_region.out / "dev.template.json"
    assert json.loads(dev.read_text()) == default_templates["dev"]
    assert not (other_region.out / "dev.assets.json").exists()
    assert sorted(other_region.assets) == OTHER_STAGES


def test_the_model_runs_the_regional_image_on_the_staged_model_data(other_region):
    for stage in OTHER_STAGES:
        template = other_region.templates[stage]
        model = only(template, "AWS::SageMaker::Model")
        # SageMaker uses no model package of another region: no ModelPackageName.
        assert model["PrimaryContainer"] == {
            "Image": REGIONAL_IMAGE,
            "ModelDataUrl": f"s3://{staging_bucket(stage)}/{STAGED_KEY}",
        }
        assert model["EnableNetworkIsolation"] is True
        assert transform_arguments(template)["ModelName"] == "<ModelName>"


def test_nothing_of_the_projects_region_is_in_the_template(other_region):
    for stage in OTHER_STAGES:
        text = json.dumps(other_region.templates[stage])
        for project_thing in (PROJECT.artifact_bucket, KMS_KEY_ARN, PACKAGE_ARN, f":{REGION}:", f".{REGION}."):
            assert project_thing not in text, f"{stage}: {project_thing}"
        # The pipeline deploys the template itself: no bootstrap version parameter or rule.
        assert "Parameters" not in other_region.templates[stage]
        assert "Rules" not in other_region.templates[stage]


def test_the_model_role_reads_the_staged_object_and_the_stages_prefixes_only(other_region):
    for stage in OTHER_STAGES:
        statements = role(other_region.templates[stage], "ModelExecutionRole")["statements"]
        expected = expected_model_statements(stage)
        assert list(statements) == list(expected)
        assert statements == expected


def test_the_pipeline_role_describes_and_grants_only_the_stages_own_key(other_region):
    jobs = "arn:aws:sagemaker:us-east-1:{}:transform-job/pipelines-*"
    run = {
        "Action": ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob", "sagemaker:AddTags"],
        "Effect": "Allow",
        "Sid": "RunTransformJobs",
    }
    prod = role(other_region.templates["prod"], "PipelineExecutionRole")["statements"]
    assert prod == {"RunTransformJobs": {**run, "Resource": jobs.format(STAGE_ACCOUNTS["prod"])}}
    preprod = role(other_region.templates["preprod"], "PipelineExecutionRole")["statements"]
    assert preprod == {
        "RunTransformJobs": {**run, "Resource": jobs.format(STAGE_ACCOUNTS["preprod"])},
        "DescribeStageKey": statement("DescribeStageKey", "kms:DescribeKey", STAGE_KEY_ARN),
        "GrantVolumeKeyToSageMaker": grant_to_sagemaker(STAGE_KEY_ARN),
    }


def test_output_and_volumes_use_the_stages_key_or_sagemakers_own(other_region):
    for stage in OTHER_STAGES:
        settings = OTHER_REGION_SETTINGS[stage]
        definition = pipeline_definition(other_region.templates[stage])
        assert definition["Parameters"][0]["DefaultValue"] == settings["input_s3_uri"]
        arguments = definition["Steps"][0]["Arguments"]
        output, resources = arguments["TransformOutput"], arguments["TransformResources"]
        assert output["S3OutputPath"]["Std:Join"]["Values"][0] == settings["output_s3_uri"]
        if "kms_key_arn" in settings:
            assert (output["KmsKeyId"], resources["VolumeKmsKeyId"]) == (STAGE_KEY_ARN, STAGE_KEY_ARN)
        else:
            # The output bucket's default encryption, and SageMaker's own key for the volumes.
            assert "KmsKeyId" not in output and "VolumeKmsKeyId" not in resources
        assert list(output) == ["S3OutputPath"] + (["KmsKeyId"] if "kms_key_arn" in settings else []) + ["AssembleWith"]


def test_the_schedule_and_names_are_those_of_the_stages_region(other_region):
    for stage in OTHER_STAGES:
        (target,) = only(other_region.templates[stage], "AWS::Events::Rule")["Targets"]
        assert render(target["Arn"]) == f"arn:aws:sagemaker:{OTHER_REGION}:{STAGE_ACCOUNTS[stage]}:pipeline/my-project-{stage}-batch"


def test_the_asset_manifest_stages_the_model_data_in_the_stages_bootstrap(other_region):
    for stage in OTHER_STAGES:
        account = STAGE_ACCOUNTS[stage]
        asset = other_region.assets[stage]["files"][STAGED_KEY]
        assert asset["source"] == {
            "executable": [*MODEL_DATA_FETCH_COMMAND, MODEL_DATA_URL, f"model-data-{STAGED_KEY}"],
        }
        assert list(asset["destinations"].values()) == [
            {
                "bucketName": staging_bucket(stage),
                "objectKey": STAGED_KEY,
                "region": OTHER_REGION,
                "assumeRoleArn": (
                    f"arn:${{AWS::Partition}}:iam::{account}:role/cdk-hnb659fds-file-publishing-role-{account}-{OTHER_REGION}"
                ),
            }
        ]


# The newest cloud assembly schema major version that the deploy pipeline's cdk-assets (4.7.3) reads.
CDK_ASSETS_SCHEMA_MAJOR = 54


def test_the_pipelines_cdk_assets_reads_the_asset_manifests(other_region):
    # requirements.txt keeps aws-cdk-lib on releases that write it (aws-cdk.cloud-assembly-schema).
    for stage in OTHER_STAGES:
        assert int(other_region.assets[stage]["version"].split(".")[0]) <= CDK_ASSETS_SCHEMA_MAJOR, stage


def test_the_bootstrap_qualifier_names_the_staging_bucket(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("prod",), bootstrap_qualifier="mlops")
    templates = synth_templates(
        tmp_path / "out", project, other_region_config(tmp_path / "config"), regions={"prod": OTHER_REGION}
    )
    model = only(templates["prod"], "AWS::SageMaker::Model")
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{staging_bucket('prod', 'mlops')}/{STAGED_KEY}"
    manifest = json.loads((tmp_path / "out" / "prod.assets.json").read_text())
    (destination,) = manifest["files"][STAGED_KEY]["destinations"].values()
    assert destination["bucketName"] == staging_bucket("prod", "mlops")
    assert ":role/cdk-mlops-file-publishing-role-" in destination["assumeRoleArn"]


def test_a_stage_network_stays_in_another_region(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("prod",), stage_networks={"prod": STAGE_NETWORKS["dev"]})
    templates = synth_templates(
        tmp_path / "out", project, other_region_config(tmp_path / "config"), regions={"prod": OTHER_REGION}
    )
    model = only(templates["prod"], "AWS::SageMaker::Model")
    assert model["VpcConfig"] == {
        "Subnets": list(STAGE_NETWORKS["dev"].subnet_ids),
        "SecurityGroupIds": list(STAGE_NETWORKS["dev"].security_group_ids),
    }
    assert model["EnableNetworkIsolation"] is True
    statements = role(templates["prod"], "ModelExecutionRole")["statements"]
    assert f"arn:aws:ec2:{OTHER_REGION}:{STAGE_ACCOUNTS['prod']}:network-interface/*" in statements["ManageNetworkInterfaces"]["Resource"]


def test_an_own_image_is_pulled_from_its_replica_in_the_stages_region(tmp_path):
    own_image = f"{DEV_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlops-my-project-p-abc123:v7"
    project = dataclasses.replace(PROJECT, stages=("prod",))
    registry, _ = stub_registry(image_uri=own_image)
    locator, _ = stub_locator(["prod"], regions={"prod": OTHER_REGION})
    build_app(project, registry, locator, config_dir=other_region_config(tmp_path / "config"), outdir=str(tmp_path)).synth()
    template = json.loads((tmp_path / "prod.template.json").read_text())
    assert only(template, "AWS::SageMaker::Model")["PrimaryContainer"]["Image"] == (
        f"{DEV_ACCOUNT}.dkr.ecr.{OTHER_REGION}.amazonaws.com/mlops-my-project-p-abc123:v7"
    )
    statements = role(template, "ModelExecutionRole")["statements"]
    assert statements["PullModelImage"]["Resource"] == f"arn:aws:ecr:{OTHER_REGION}:{DEV_ACCOUNT}:repository/mlops-my-project-p-abc123"


def test_the_other_region_templates_hold_only_what_the_target_accounts_allow(other_region):
    for stage in OTHER_STAGES:
        template = other_region.templates[stage]
        assert {r["Type"] for r in template["Resources"].values()} <= set(ALLOWED["resourceTypes"])
        for policy in resources_of(template, "AWS::IAM::Policy"):
            actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
            assert actions <= set(ALLOWED["modelRoleActions"]), stage
        for found in resources_of(template, "AWS::IAM::Role"):
            assert found["Properties"]["Path"] == ALLOWED["rolePath"]


# --- What the package's container gives the model (mlops_deploy/regions.py, stage_model) ----------


def package_of(container: dict) -> dict:
    """An approved package's InferenceSpecification of the one ``container``, for stub_registry."""
    return {
        "InferenceSpecification": {
            "Containers": [container], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
        }
    }


def test_the_packages_container_environment_is_kept(tmp_path):
    # A framework model (scikit-learn, ...) serves only with what its container's environment names.
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    project = dataclasses.replace(PROJECT, stages=("dev", "prod"))
    templates = synth_templates(
        tmp_path / "out",
        project,
        other_region_config(tmp_path / "config"),
        regions={"prod": OTHER_REGION},
        package_extra=package_of({"Image": IMAGE_URI, "ModelDataUrl": MODEL_DATA_URL, "Environment": environment}),
    )
    assert only(templates["prod"], "AWS::SageMaker::Model")["PrimaryContainer"] == {
        "Image": REGIONAL_IMAGE,
        "ModelDataUrl": f"s3://{staging_bucket('prod')}/{STAGED_KEY}",
        "Environment": environment,
    }
    # In the project's region the model comes from the package, which holds its environment itself.
    assert only(templates["dev"], "AWS::SageMaker::Model")["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}


def test_a_package_without_model_data_serves_another_region_with_its_image_alone(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("prod",))
    out = tmp_path / "out"
    templates = synth_templates(
        out,
        project,
        other_region_config(tmp_path / "config"),
        regions={"prod": OTHER_REGION},
        package_extra=package_of({"Image": IMAGE_URI}),
    )
    assert only(templates["prod"], "AWS::SageMaker::Model")["PrimaryContainer"] == {"Image": REGIONAL_IMAGE}
    # The model's role reads no model data: neither a staged object nor the artifact bucket.
    expected = expected_model_statements("prod")
    del expected["ReadStagedModelData"]
    statements = role(templates["prod"], "ModelExecutionRole")["statements"]
    assert list(statements) == list(expected)
    assert statements == expected
    manifest = json.loads((out / "prod.assets.json").read_text())
    assert [key for key in manifest["files"] if key.endswith(".tar.gz")] == []


# --- What stops the synth ------------------------------------------------------------------------


def test_a_stage_in_another_region_without_its_own_input_and_output_stops_the_synth(tmp_path):
    # The shipped prod.yml names no input or output: the defaults are in the project's region.
    project = dataclasses.replace(PROJECT, stages=("dev", "prod"))
    registry, _ = stub_registry()
    locator, _ = stub_locator(project.stages, regions={"prod": OTHER_REGION})
    with pytest.raises(StageConfigError) as raised:
        build_app(project, registry, locator, outdir=str(tmp_path))
    message = str(raised.value)
    assert message.startswith(
        f"prod.yml: stage 'prod' deploys in region {OTHER_REGION}, not in the project's region {REGION}, "
        "so input_s3_uri and output_s3_uri are required"
    )
    assert f"under the project's artifact bucket {PROJECT.artifact_bucket}, in {REGION}" in message
    assert "reads its input and writes its output in S3 of its own region only" in message
    assert list(tmp_path.glob("*.template.json")) == []


# --- app.py and the build ------------------------------------------------------------------------


def test_app_main_writes_the_asset_manifest_of_a_stage_in_another_region(project_env, monkeypatch, tmp_path):
    import app

    session = StubbedSession(approved=True)
    regions = {stage: OTHER_REGION for stage in OTHER_STAGES}
    session.clients["ssm"] = stub_locator(PROJECT.stages, regions=regions)[0]._ssm
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    config_dir = other_region_config(tmp_path / "config")
    monkeypatch.setattr(app, "build_app", lambda *a, **k: build_app(*a, config_dir=config_dir, **k))
    out = tmp_path / "out"
    assert app.main(outdir=str(out)) == 0
    assert sorted(p.name for p in out.glob("*.template.json")) == [
        "dev.template.json", "preprod.template.json", "prod.template.json",
    ]
    # The deploy pipeline publishes <stage>.assets.json (where there is one) before it deploys the stage.
    assert sorted(p.name for p in out.glob("*.assets.json")) == ["preprod.assets.json", "prod.assets.json"]


def test_app_main_reports_a_region_without_sagemakers_image(project_env, monkeypatch, tmp_path, capsys):
    import app

    session = StubbedSession(approved=True)
    regions = {"preprod": OTHER_REGION, "prod": "eu-west-9"}
    session.clients["ssm"] = stub_locator(PROJECT.stages, regions=regions)[0]._ssm
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: session)
    config_dir = other_region_config(tmp_path / "config")
    monkeypatch.setattr(app, "build_app", lambda *a, **k: build_app(*a, config_dir=config_dir, **k))
    assert app.main(outdir=str(tmp_path / "out")) == 1
    error = capsys.readouterr().err
    assert error.startswith("ERROR: ") and "eu-west-9" in error and "SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS" in error

