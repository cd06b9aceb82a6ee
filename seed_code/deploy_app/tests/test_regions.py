"""A stage in another region than the project's: its model runs the image of its region and the model
data the deploy pipeline stages into its CDK bootstrap bucket (<stage>.assets.json); data capture goes
to a bucket of its region; monitoring is refused; stages in the project's region are unchanged. (What
a stage's model is made of, and which packages cannot serve another region: tests/test_deploy_regions.py,
shared with the batch inference app.)"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Optional

import pytest
import yaml

from deploy_endpoint.app_builder import build_app
from deploy_endpoint.stage_config import CONFIG_DIR, StageConfigError
from mlops_deploy.regions import MODEL_DATA_FETCH_COMMAND, CrossRegionError

from .conftest import (
    BASELINE,
    IMAGE_URI,
    KMS_KEY_ARN,
    PACKAGE_ARN,
    PROJECT,
    STAGE_ACCOUNTS,
    STAGE_NETWORKS,
    STAGE_TEST_PRINCIPAL_ARN,
    StubbedRegistryModel,
    render,
    stub_locator,
    stub_registry,
)
from .test_target_accounts import ALLOWED

# Each stage in another region than the project's (eu-west-1).
REGIONS = {"dev": "us-east-1", "preprod": "us-west-2", "prod": "us-east-1"}
# Where the stages that capture data write (as shipped: preprod and prod), buckets of their account and region.
CAPTURE = {
    "preprod": f"s3://my-project-captures-{STAGE_ACCOUNTS['preprod']}-us-west-2/datacapture/my-project-preprod",
    "prod": f"s3://my-project-captures-{STAGE_ACCOUNTS['prod']}-us-east-1/datacapture/my-project-prod",
}
PROD_CAPTURE_KEY = f"arn:aws:kms:us-east-1:{STAGE_ACCOUNTS['prod']}:key/mrk-0123456789abcdef0123456789abcdef"
STAGED_KEY = hashlib.sha256(StubbedRegistryModel.MODEL_DATA_URL.encode()).hexdigest() + ".tar.gz"
# The templates the deploy pipeline deploys as a body (aws cloudformation deploy) take at most this many bytes.
TEMPLATE_BODY_LIMIT = 51_200
# The deploy pipeline publishes <stage>.assets.json with cdk-assets 4.7.3, which reads manifests of cloud
# assembly schema 54 and older (requirements.txt keeps aws-cdk-lib on releases that write them).
CDK_ASSETS_SCHEMA_MAJOR = 54


def resources(template: dict, resource_type: str) -> list:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type]


def only(template: dict, resource_type: str) -> dict:
    (found,) = resources(template, resource_type)
    return found



def statements(template: dict, policy_id_prefix: str = "ModelExecutionPolicy") -> Dict[str, dict]:
    (policy,) = [
        r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Policy" and k.startswith(policy_id_prefix)
    ]
    return {s["Sid"]: {**s, "Resource": render(s["Resource"])} for s in policy["PolicyDocument"]["Statement"]}


def config_dir_with(tmp_path: Path, **data_capture: dict) -> Path:
    """The shipped config/ with more data_capture settings per stage (e.g. prod={"destination_s3_uri": ...})."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    for path in CONFIG_DIR.glob("*.yml"):
        raw = yaml.safe_load(path.read_text())
        raw["data_capture"].update(data_capture.get(path.stem, {}))
        (config_dir / path.name).write_text(yaml.safe_dump(raw))
    return config_dir


def other_region_config(tmp_path: Path) -> Path:
    return config_dir_with(
        tmp_path,
        preprod={"destination_s3_uri": CAPTURE["preprod"]},
        prod={"destination_s3_uri": CAPTURE["prod"] + "/", "kms_key_arn": PROD_CAPTURE_KEY},
    )


def synth(
    outdir: Path,
    project=PROJECT,
    regions: Optional[Dict[str, str]] = None,
    config_dir: Optional[Path] = None,
    image_uri: str = IMAGE_URI,
    package_extra: Optional[dict] = None,
):
    """Synthesize with stubbed look-ups; return the app (nothing is written unless synth succeeds)."""
    registry, registry_stub = stub_registry(image_uri=image_uri, package_extra=package_extra)
    locator, locator_stub = stub_locator(project.stages, regions=REGIONS if regions is None else regions)
    kwargs = {"config_dir": config_dir} if config_dir else {}
    build_app(project, registry, locator, outdir=str(outdir), **kwargs).synth()
    registry_stub.assert_no_pending_responses()
    locator_stub.assert_no_pending_responses()


def read(outdir: Path, stage: str, kind: str = "template") -> dict:
    return json.loads((outdir / f"{stage}.{kind}.json").read_text())


def write_for_ci(outdir: Path, stages, suffix: str) -> None:
    """Copy the templates and asset manifests to SEED_DEPLOY_TEMPLATES_DIR, if set, as
    <stage>-<suffix>.template.json and .assets.json, for CI's cfn-lint, checkov and cdk-assets."""
    target = os.environ.get("SEED_DEPLOY_TEMPLATES_DIR")
    if not target:
        return
    for stage in stages:
        name = f"{stage}-{suffix}"
        shutil.copy(outdir / f"{stage}.template.json", Path(target) / f"{name}.template.json")
        manifest = read(outdir, stage, "assets")
        # The stack template is an asset of its own manifest too, by its file name.
        for asset in manifest["files"].values():
            if asset["source"].get("path") == f"{stage}.template.json":
                asset["source"]["path"] = f"{name}.template.json"
        (Path(target) / f"{name}.assets.json").write_text(json.dumps(manifest, indent=2))


@pytest.fixture(scope="session")
def other_region(tmp_path_factory) -> Path:
    """The cdk.out of every stage in another region than the project's, with data capture into buckets
    of their regions (prod with its own key), the pipeline's stage tests and the permissions boundary.

    With SEED_DEPLOY_TEMPLATES_DIR set, written there as <stage>-other-region.template.json and
    <stage>-other-region.assets.json.
    """
    tmp = tmp_path_factory.mktemp("other-region")
    outdir = tmp / "cdk.out"
    project = dataclasses.replace(
        PROJECT, stage_test_principal_arn=STAGE_TEST_PRINCIPAL_ARN, role_permissions_boundary="mlops-deployment-boundary"
    )
    synth(outdir, project, config_dir=other_region_config(tmp))
    write_for_ci(outdir, project.stages, "other-region")
    return outdir


@pytest.fixture(scope="session")
def other_region_vpc(tmp_path_factory) -> Path:
    """As other_region, with every stage in its network (STAGE_NETWORKS), MODEL_MONITORING=true and
    monitoring off in the stages' YAML; written as <stage>-other-region-vpc.*.json for CI."""
    tmp = tmp_path_factory.mktemp("other-region-vpc")
    outdir = tmp / "cdk.out"
    project = dataclasses.replace(PROJECT, stage_networks=STAGE_NETWORKS, model_monitoring=True)
    config_dir = other_region_config(tmp)
    for stage in CAPTURE:
        path = config_dir / f"{stage}.yml"
        path.write_text(path.read_text() + "monitoring:\n  enabled: false\n")
    synth(outdir, project, config_dir=config_dir, package_extra={"DriftCheckBaselines": BASELINE})
    write_for_ci(outdir, project.stages, "other-region-vpc")
    return outdir


def test_the_model_runs_the_image_of_its_region_and_the_staged_model_data(other_region):
    for stage, region in REGIONS.items():
        model = only(read(other_region, stage), "AWS::SageMaker::Model")
        bucket = f"cdk-hnb659fds-assets-{STAGE_ACCOUNTS[stage]}-{region}"
        account = {"us-east-1": "683313688378", "us-west-2": "246618743249"}[region]
        assert model["PrimaryContainer"] == {
            "Image": f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": f"s3://{bucket}/{STAGED_KEY}",
        }
        assert model["EnableNetworkIsolation"] is True
        assert "VpcConfig" not in model


def test_the_asset_manifest_stages_the_model_data_in_the_stages_bootstrap(other_region):
    for stage, region in REGIONS.items():
        account = STAGE_ACCOUNTS[stage]
        manifest = read(other_region, stage, "assets")
        asset = manifest["files"][STAGED_KEY]
        assert asset["source"]["executable"] == [
            *MODEL_DATA_FETCH_COMMAND, StubbedRegistryModel.MODEL_DATA_URL, f"model-data-{STAGED_KEY}",
        ]
        [destination] = asset["destinations"].values()
        assert destination == {
            "bucketName": f"cdk-hnb659fds-assets-{account}-{region}",
            "objectKey": STAGED_KEY,
            "region": region,
            "assumeRoleArn": f"arn:${{AWS::Partition}}:iam::{account}:role/cdk-hnb659fds-file-publishing-role-{account}-{region}",
        }
        # Besides the model data, only the template itself (which the pipeline deploys as a body).
        others = [a["source"] for key, a in manifest["files"].items() if key != STAGED_KEY]
        assert others == [{"path": f"{stage}.template.json", "packaging": "file"}]
        assert manifest["dockerImages"] == {}


def test_the_pipelines_cdk_assets_reads_the_asset_manifests(other_region):
    for stage in REGIONS:
        version = read(other_region, stage, "assets")["version"]
        assert int(version.split(".")[0]) <= CDK_ASSETS_SCHEMA_MAJOR, (
            f"{stage}.assets.json has cloud assembly schema {version}, which the deploy pipeline's cdk-assets "
            f"(schema {CDK_ASSETS_SCHEMA_MAJOR} and older) cannot read: keep aws-cdk.cloud-assembly-schema "
            f"<{CDK_ASSETS_SCHEMA_MAJOR + 1} in requirements.txt"
        )


def test_the_bootstrap_qualifier_names_the_staging_bucket(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("prod",), bootstrap_qualifier="team7")
    synth(tmp_path / "cdk.out", project, regions={"prod": "us-east-1"}, config_dir=other_region_config(tmp_path))
    [destination] = read(tmp_path / "cdk.out", "prod", "assets")["files"][STAGED_KEY]["destinations"].values()
    assert destination["bucketName"] == f"cdk-team7-assets-{STAGE_ACCOUNTS['prod']}-us-east-1"
    assert "cdk-team7-file-publishing-role" in destination["assumeRoleArn"]
    model = only(read(tmp_path / "cdk.out", "prod"), "AWS::SageMaker::Model")
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://cdk-team7-assets-{STAGE_ACCOUNTS['prod']}-us-east-1/{STAGED_KEY}"


def test_the_model_role_reads_only_the_staged_object_and_pulls_only_the_regional_repository(other_region):
    for stage, region in REGIONS.items():
        template = read(other_region, stage)
        found = statements(template)
        bucket = f"cdk-hnb659fds-assets-{STAGE_ACCOUNTS[stage]}-{region}"
        assert found["ReadStagedModelData"] == {
            "Sid": "ReadStagedModelData", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/{STAGED_KEY}",
        }
        account = {"us-east-1": "683313688378", "us-west-2": "246618743249"}[region]
        assert found["PullModelImage"]["Resource"] == f"arn:aws:ecr:{region}:{account}:repository/sagemaker-xgboost"
        # Nothing of the project's region: not the artifact bucket, its key, or the registry.
        assert not {"ReadModelArtifacts", "ListArtifactBucket", "UseArtifactKey"} & set(found)
        text = json.dumps(template)
        for absent in (PROJECT.artifact_bucket, KMS_KEY_ARN, PACKAGE_ARN, "ModelPackageName", "eu-west-1"):
            assert absent not in text, f"{stage}: {absent}"
        # S3 only on the staged object and the capture destination.
        s3 = {sid for sid, s in found.items() if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))}
        assert s3 == ({"ReadStagedModelData", "WriteDataCapture"} if stage in CAPTURE else {"ReadStagedModelData"})


def test_data_capture_goes_to_the_bucket_of_the_stages_region(other_region):
    assert "DataCaptureConfig" not in only(read(other_region, "dev"), "AWS::SageMaker::EndpointConfig")
    preprod = only(read(other_region, "preprod"), "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    assert preprod["DestinationS3Uri"] == CAPTURE["preprod"]
    # No key: the bucket's default encryption.
    assert "KmsKeyId" not in preprod
    prod = only(read(other_region, "prod"), "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    assert (prod["DestinationS3Uri"], prod["KmsKeyId"], prod["InitialSamplingPercentage"]) == (CAPTURE["prod"], PROD_CAPTURE_KEY, 20)

    preprod_statements = statements(read(other_region, "preprod"))
    assert preprod_statements["WriteDataCapture"]["Resource"] == "arn:aws:s3:::" + CAPTURE["preprod"][len("s3://"):] + "/*"
    assert "UseDataCaptureKey" not in preprod_statements
    assert not [s for s in preprod_statements.values() if any(str(a).startswith("kms:") for a in s["Action"])]
    prod_statements = statements(read(other_region, "prod"))
    assert prod_statements["WriteDataCapture"]["Resource"] == "arn:aws:s3:::" + CAPTURE["prod"][len("s3://"):] + "/*"
    assert prod_statements["UseDataCaptureKey"] == {
        "Sid": "UseDataCaptureKey", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": PROD_CAPTURE_KEY,
    }


def test_the_templates_are_plain_bodies_within_the_limit(other_region, other_region_vpc):
    for outdir in (other_region, other_region_vpc):
        for stage in REGIONS:
            path = outdir / f"{stage}.template.json"
            assert path.stat().st_size <= TEMPLATE_BODY_LIMIT
            template = json.loads(path.read_text())
            # No bootstrap version check: the pipeline deploys the template itself.
            assert "BootstrapVersion" not in json.dumps(template) and "Rules" not in template


def test_the_stage_test_role_tests_the_endpoint_of_the_stages_region(other_region):
    for stage, region in REGIONS.items():
        test_policy = statements(read(other_region, stage), "StageTestPolicy")["TestEndpoint"]
        assert test_policy["Resource"] == f"arn:aws:sagemaker:{region}:{STAGE_ACCOUNTS[stage]}:endpoint/my-project-{stage}"


def test_other_region_templates_hold_only_what_the_target_accounts_allow(other_region, other_region_vpc):
    for outdir in (other_region, other_region_vpc):
        for stage in REGIONS:
            template = read(outdir, stage)
            types = {r["Type"] for r in template["Resources"].values()}
            assert types <= set(ALLOWED["resourceTypes"]), f"{stage}: {sorted(types - set(ALLOWED['resourceTypes']))}"
            for role in resources(template, "AWS::IAM::Role"):
                assert role["Path"] == ALLOWED["rolePath"]
            for sid, statement in statements(template).items():
                actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                assert set(actions) <= set(ALLOWED["modelRoleActions"]), f"{stage}: {sid}"


def test_a_stage_network_and_monitoring_off_in_another_region(other_region_vpc):
    for stage in REGIONS:
        template = read(other_region_vpc, stage)
        model = only(template, "AWS::SageMaker::Model")
        assert "VpcConfig" in model and model["EnableNetworkIsolation"] is True
        assert resources(template, "AWS::SageMaker::MonitoringSchedule") == []
        # What SageMaker does with the model's role to attach it to the stage's subnets, in the stage's region.
        found = statements(template)
        assert {"ManageNetworkInterfaces", "DescribeNetworks"} <= set(found)
        assert f":ec2:{REGIONS[stage]}:{STAGE_ACCOUNTS[stage]}:network-interface/*" in json.dumps(found["ManageNetworkInterfaces"])


def test_a_projects_region_template_is_unchanged_by_stages_elsewhere(tmp_path):
    alone = tmp_path / "alone"
    synth(alone, regions={})
    mixed = tmp_path / "mixed"
    synth(mixed, regions={"prod": "us-east-1"}, config_dir=config_dir_with(tmp_path, prod={"destination_s3_uri": CAPTURE["prod"]}))
    for stage in ("dev", "preprod"):
        assert (mixed / f"{stage}.template.json").read_bytes() == (alone / f"{stage}.template.json").read_bytes()
    assert sorted(p.name for p in mixed.glob("*.assets.json")) == ["prod.assets.json"]
    assert list(alone.glob("*.assets.json")) == []


def test_data_capture_in_another_region_without_a_destination_stops_synth(tmp_path):
    registry, _ = stub_registry()
    locator, _ = stub_locator(PROJECT.stages, regions={"prod": "us-east-1"})
    with pytest.raises(CrossRegionError) as raised:
        build_app(PROJECT, registry, locator, outdir=str(tmp_path)).synth()
    message = str(raised.value)
    assert message.startswith("Stage 'prod' deploys to us-east-1, another region than the project's (eu-west-1)")
    for needed in (
        "config/prod.yml", "data_capture.enabled: true", "data_capture.destination_s3_uri", PROJECT.artifact_bucket,
        f"account {STAGE_ACCOUNTS['prod']} and region us-east-1", "data_capture.kms_key_arn",
        "data_capture.enabled: false", "deploy the stage in eu-west-1",
    ):
        assert needed in message
    assert list(tmp_path.glob("*.json")) == []


def test_a_capture_key_of_another_region_is_an_error(tmp_path):
    config_dir = config_dir_with(
        tmp_path, prod={"destination_s3_uri": CAPTURE["prod"], "kms_key_arn": PROD_CAPTURE_KEY.replace("us-east-1", "eu-west-1")}
    )
    registry, _ = stub_registry()
    locator, _ = stub_locator(PROJECT.stages, regions={"prod": "us-east-1"})
    with pytest.raises(StageConfigError, match=r"config/prod.yml: data_capture.kms_key_arn .* is a key of eu-west-1, but stage 'prod' deploys to us-east-1"):
        build_app(PROJECT, registry, locator, outdir=str(tmp_path), config_dir=config_dir)


def test_monitoring_a_stage_in_another_region_stops_synth_with_what_to_do(tmp_path):
    project = dataclasses.replace(PROJECT, model_monitoring=True)
    config_dir = config_dir_with(tmp_path, prod={"destination_s3_uri": CAPTURE["prod"]})
    registry, _ = stub_registry(package_extra={"DriftCheckBaselines": BASELINE})
    locator, _ = stub_locator(project.stages, regions={"prod": "us-east-1"})
    with pytest.raises(CrossRegionError) as raised:
        build_app(project, registry, locator, outdir=str(tmp_path), config_dir=config_dir)
    message = str(raised.value)
    assert message.startswith("Stage 'prod' deploys to us-east-1, another region than the project's (eu-west-1), and model monitoring is on")
    for needed in ("monitoring.enabled: false in config/prod.yml", "baseline", "MODEL_MONITORING"):
        assert needed in message


def test_monitoring_off_for_the_stage_in_another_region_keeps_the_others_monitored(tmp_path):
    project = dataclasses.replace(PROJECT, model_monitoring=True)
    config_dir = config_dir_with(tmp_path, prod={"destination_s3_uri": CAPTURE["prod"]})
    (config_dir / "prod.yml").write_text((config_dir / "prod.yml").read_text() + "monitoring:\n  enabled: false\n")
    synth(tmp_path / "cdk.out", project, regions={"prod": "us-east-1"}, config_dir=config_dir, package_extra={"DriftCheckBaselines": BASELINE})
    assert len(resources(read(tmp_path / "cdk.out", "preprod"), "AWS::SageMaker::MonitoringSchedule")) == 1
    assert resources(read(tmp_path / "cdk.out", "prod"), "AWS::SageMaker::MonitoringSchedule") == []


def test_the_projects_own_image_comes_from_its_replica_in_the_stages_region(tmp_path):
    image = f"{STAGE_ACCOUNTS['dev']}.dkr.ecr.eu-west-1.amazonaws.com/mlops-my-project-p-abc123@sha256:abc123"
    project = dataclasses.replace(PROJECT, stages=("dev",))
    synth(tmp_path, project, regions={"dev": "us-east-1"}, image_uri=image)
    template = read(tmp_path, "dev")
    assert only(template, "AWS::SageMaker::Model")["PrimaryContainer"]["Image"] == image.replace("eu-west-1", "us-east-1")
    assert statements(template)["PullModelImage"]["Resource"] == (
        f"arn:aws:ecr:us-east-1:{STAGE_ACCOUNTS['dev']}:repository/mlops-my-project-p-abc123"
    )


def test_a_region_without_a_known_framework_image_stops_synth(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev",))
    registry, _ = stub_registry()
    locator, _ = stub_locator(project.stages, regions={"dev": "eu-west-9"})
    with pytest.raises(CrossRegionError, match="No SageMaker framework image account is known for region eu-west-9"):
        build_app(project, registry, locator, outdir=str(tmp_path))


def package_with(container: dict) -> dict:
    """An approved package's InferenceSpecification of the one ``container``, for stub_registry."""
    return {
        "InferenceSpecification": {
            "Containers": [container], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
        }
    }


def test_the_packages_container_environment_is_kept(tmp_path):
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "MODEL_SERVER_WORKERS": "2"}
    project = dataclasses.replace(PROJECT, stages=("dev",))
    extra = package_with({"Image": IMAGE_URI, "ModelDataUrl": StubbedRegistryModel.MODEL_DATA_URL, "Environment": environment})
    synth(tmp_path, project, regions={"dev": "us-east-1"}, package_extra=extra)
    assert only(read(tmp_path, "dev"), "AWS::SageMaker::Model")["PrimaryContainer"]["Environment"] == environment
    # In the project's region the model comes from the package, which holds its environment itself.
    synth(tmp_path / "same", project, regions={}, package_extra=extra)
    assert only(read(tmp_path / "same", "dev"), "AWS::SageMaker::Model")["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}


def test_a_model_without_model_data_runs_its_image_alone(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev",))
    synth(tmp_path, project, regions={"dev": "us-east-1"}, package_extra=package_with({"Image": IMAGE_URI}))
    template = read(tmp_path, "dev")
    assert only(template, "AWS::SageMaker::Model")["PrimaryContainer"] == {
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    }
    # The endpoint's role reads no model data (dev captures nothing): no S3 at all.
    found = statements(template)
    assert "ReadStagedModelData" not in found
    assert [sid for sid, s in found.items() if "s3:" in json.dumps(s["Action"])] == []
    assert [key for key in read(tmp_path, "dev", "assets")["files"] if key.endswith(".tar.gz")] == []


def test_app_main_writes_the_asset_manifest_of_a_stage_in_another_region(monkeypatch, tmp_path):
    import app

    for name, value in {
        "PROJECT_NAME": PROJECT.project_name, "PROJECT_ID": PROJECT.project_id,
        "MODEL_PACKAGE_GROUP_NAME": PROJECT.model_package_group_name, "ARTIFACT_BUCKET": PROJECT.artifact_bucket,
        "ARTIFACT_BUCKET_KMS_ID": PROJECT.artifact_bucket_kms_key_arn, "AWS_REGION": PROJECT.region,
        "DEPLOYMENT_STAGES": "dev,preprod,prod",
    }.items():
        monkeypatch.setenv(name, value)
    clients = {
        "sagemaker": stub_registry()[0]._sagemaker,
        "ssm": stub_locator(PROJECT.stages, regions={"dev": "us-east-1"})[0]._ssm,
    }

    class Session:
        def __init__(self, region_name):
            assert region_name == PROJECT.region

        def client(self, service):
            return clients[service]

    monkeypatch.setattr(app.boto3, "Session", Session)
    assert app.main(outdir=str(tmp_path)) == 0
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [
        "dev.template.json", "preprod.template.json", "prod.template.json",
    ]
    # Only the stage in another region has assets to publish.
    assert [p.name for p in tmp_path.glob("*.assets.json")] == ["dev.assets.json"]


def test_app_main_reports_what_a_stage_in_another_region_lacks(monkeypatch, capsys, tmp_path):
    import app

    for name, value in {
        "PROJECT_NAME": PROJECT.project_name, "PROJECT_ID": PROJECT.project_id,
        "MODEL_PACKAGE_GROUP_NAME": PROJECT.model_package_group_name, "ARTIFACT_BUCKET": PROJECT.artifact_bucket,
        "ARTIFACT_BUCKET_KMS_ID": PROJECT.artifact_bucket_kms_key_arn, "AWS_REGION": PROJECT.region,
    }.items():
        monkeypatch.setenv(name, value)
    clients = {
        "sagemaker": stub_registry()[0]._sagemaker,
        "ssm": stub_locator(PROJECT.stages, regions={"prod": "us-east-1"})[0]._ssm,
    }
    monkeypatch.setattr(app.boto3, "Session", lambda region_name: type("S", (), {"client": lambda self, s: clients[s]})())
    assert app.main(outdir=str(tmp_path)) == 1
    assert "ERROR: Stage 'prod' deploys to us-east-1, another region than the project's" in capsys.readouterr().err


def test_a_capture_destination_in_the_projects_region(tmp_path):
    # Allowed there too: the stage keeps its captures in a bucket of its own account, with its own key.
    destination = f"s3://my-project-captures-{STAGE_ACCOUNTS['prod']}-eu-west-1/captures"
    key = f"arn:aws:kms:eu-west-1:{STAGE_ACCOUNTS['prod']}:key/0a1b2c3d-1111-2222-3333-444444444444"
    project = dataclasses.replace(PROJECT, stages=("prod",), model_monitoring=True)
    config_dir = config_dir_with(tmp_path, prod={"destination_s3_uri": destination, "kms_key_arn": key})
    synth(tmp_path / "cdk.out", project, regions={}, config_dir=config_dir, package_extra={"DriftCheckBaselines": BASELINE})
    template = read(tmp_path / "cdk.out", "prod")
    assert not (tmp_path / "cdk.out" / "prod.assets.json").exists()
    assert only(template, "AWS::SageMaker::Model")["PrimaryContainer"] == {"ModelPackageName": PACKAGE_ARN}
    capture = only(template, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    assert (capture["DestinationS3Uri"], capture["KmsKeyId"]) == (destination, key)
    objects = "arn:aws:s3:::" + destination[len("s3://"):] + "/*"
    model_role = statements(template)
    assert model_role["WriteDataCapture"]["Resource"] == objects
    assert model_role["UseDataCaptureKey"]["Resource"] == key
    # The project's key only to read the model data now.
    assert model_role["UseArtifactKey"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    monitoring_role = statements(template, "MonitoringPolicy")
    assert monitoring_role["ReadCapturedData"]["Resource"] == objects
    assert monitoring_role["ListCapturedData"]["Resource"] == f"arn:aws:s3:::my-project-captures-{STAGE_ACCOUNTS['prod']}-eu-west-1"
    assert monitoring_role["ListCapturedData"]["Condition"] == {"StringLike": {"s3:prefix": ["captures", "captures/*"]}}
    assert monitoring_role["ReadCapturedDataKey"] == {"Sid": "ReadCapturedDataKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}
    assert "datacapture/" not in json.dumps(template)
