"""A stage in another region than the project's (mlops_deploy/regions.py): the image of the stage's
region, the synthesizer of its stack, the model data it stages through its CDK bootstrap (the
``<stage>.assets.json`` the deploy pipeline publishes), the command that fetches that data, and what
a stage's model is made of in either region (``stage_model``, from the approved package's container
that each app's registry reads)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import aws_cdk
import pytest

from mlops_deploy.aws_lookups import ApprovedPackage, PackageContainer, StageLocation
from mlops_deploy.regions import (
    MODEL_DATA_FETCH_COMMAND,
    SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS,
    CrossRegionError,
    StagedModelData,
    StageModel,
    in_project_region,
    partition_of,
    regional_image_uri,
    stage_model,
    stage_model_data,
    stage_synthesizer,
)

from .conftest import stub_registry
from .deploy_stubs import ARTIFACT_BUCKET, GROUP, IMAGE_URI, PACKAGE_ARN, PROJECT_NAME, REGION, STAGE_ACCOUNTS

OTHER_REGION = "us-east-1"
PROD = StageLocation(account=STAGE_ACCOUNTS["prod"], region=OTHER_REGION)
MODEL_DATA_URL = f"s3://{ARTIFACT_BUCKET}/my-project-pipeline/train/model.tar.gz"
QUALIFIER = "myqual42"


@pytest.mark.parametrize(
    "image_uri, project_region, stage_region, expected",
    [
        # SageMaker's framework image: the account of the stage's region, same repository and tag.
        (IMAGE_URI, REGION, OTHER_REGION, "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
        (
            "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn@sha256:0123abcd",
            REGION,
            "ap-southeast-2",
            "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-scikit-learn@sha256:0123abcd",
        ),
        # The project's own repository (BYOC): the same account and repository, replicated there.
        (
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops-my-project-p-abc123:v7",
            REGION,
            OTHER_REGION,
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/mlops-my-project-p-abc123:v7",
        ),
        # China: its own accounts and the .amazonaws.com.cn suffix.
        (
            "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
            "cn-north-1",
            "cn-northwest-1",
            "451049120500.dkr.ecr.cn-northwest-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
        ),
        (
            "111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/team/model@sha256:ff",
            "cn-north-1",
            "cn-northwest-1",
            "111111111111.dkr.ecr.cn-northwest-1.amazonaws.com.cn/team/model@sha256:ff",
        ),
    ],
)
def test_regional_image_uri(image_uri, project_region, stage_region, expected):
    assert regional_image_uri(image_uri, project_region, stage_region) == expected


def test_an_image_of_the_projects_region_is_unchanged():
    assert regional_image_uri(IMAGE_URI, REGION, REGION) == IMAGE_URI
    # Whatever it is: the stage's model uses the package as registered.
    assert regional_image_uri("docker.io/library/python:3.11", REGION, REGION) == "docker.io/library/python:3.11"


def test_a_region_the_table_lacks_is_an_error_with_what_to_do():
    with pytest.raises(CrossRegionError) as raised:
        regional_image_uri(IMAGE_URI, REGION, "eu-west-9")
    message = str(raised.value)
    for needed in ("eu-west-9", IMAGE_URI, "SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS", "mlops_deploy/regions.py", "us-east-1"):
        assert needed in message
    # The project's own repository needs no table: it is replicated, or not, by the platform team.
    assert regional_image_uri("111111111111.dkr.ecr.eu-west-1.amazonaws.com/mine:1", REGION, "eu-west-9") == (
        "111111111111.dkr.ecr.eu-west-9.amazonaws.com/mine:1"
    )


def test_other_partitions_and_non_ecr_images_are_errors():
    with pytest.raises(CrossRegionError, match=r"cn-north-1 is in partition aws-cn, the project's region eu-west-1 in aws"):
        regional_image_uri(IMAGE_URI, REGION, "cn-north-1")
    with pytest.raises(CrossRegionError, match=r"'docker.io/library/python:3.11' is not an ECR image"):
        regional_image_uri("docker.io/library/python:3.11", REGION, OTHER_REGION)
    assert [partition_of(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1")] == [
        "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b",
    ]


def test_framework_image_accounts_cover_the_sdks_regions():
    assert len(SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS) == 37
    assert all(len(account) == 12 and account.isdigit() for account in SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS.values())
    # The account of the stubbed registry's image is the table's for its region.
    assert SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS[REGION] == IMAGE_URI.split(".")[0]


def test_in_project_region():
    assert in_project_region(REGION, StageLocation(account=STAGE_ACCOUNTS["dev"], region=REGION))
    assert not in_project_region(REGION, PROD)


def stage_stack(tmp_path: Path, location: StageLocation) -> tuple[aws_cdk.App, aws_cdk.Stack]:
    app = aws_cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    stack = aws_cdk.Stack(
        app,
        "prod",
        env=aws_cdk.Environment(account=location.account, region=location.region),
        synthesizer=stage_synthesizer(REGION, QUALIFIER, location),
    )
    return app, stack


def test_the_synthesizer_of_the_projects_region_is_bootstrapless(tmp_path):
    location = StageLocation(account=STAGE_ACCOUNTS["dev"], region=REGION)
    assert isinstance(stage_synthesizer(REGION, QUALIFIER, location), aws_cdk.BootstraplessSynthesizer)
    app, stack = stage_stack(tmp_path, location)
    aws_cdk.CfnWaitConditionHandle(stack, "Nothing")
    app.synth()
    assert not (tmp_path / "prod.assets.json").exists()
    with pytest.raises(Exception, match="BootstraplessSynthesizer"):
        stage_model_data(stack, MODEL_DATA_URL)


def test_another_region_stages_the_model_data_through_the_bootstrap(tmp_path):
    synthesizer = stage_synthesizer(REGION, QUALIFIER, PROD)
    assert isinstance(synthesizer, aws_cdk.DefaultStackSynthesizer)
    app, stack = stage_stack(tmp_path, PROD)
    staged = stage_model_data(stack, MODEL_DATA_URL)
    bucket = f"cdk-{QUALIFIER}-assets-{PROD.account}-{PROD.region}"
    assert staged.bucket == bucket
    assert staged.key.endswith(".tar.gz") and len(staged.key) == 64 + len(".tar.gz")
    assert staged.s3_uri == f"s3://{bucket}/{staged.key}"
    aws_cdk.CfnOutput(stack, "ModelData", value=staged.s3_uri)
    app.synth()

    template = json.loads((tmp_path / "prod.template.json").read_text())
    # A plain string (the stack's account and region are known), and no bootstrap version check.
    assert template["Outputs"]["ModelData"]["Value"] == staged.s3_uri
    assert "Parameters" not in template and "Rules" not in template

    manifest = json.loads((tmp_path / "prod.assets.json").read_text())
    asset = manifest["files"][staged.key]
    assert asset["source"] == {
        "executable": [*MODEL_DATA_FETCH_COMMAND, MODEL_DATA_URL, f"model-data-{staged.key}"],
    }
    [destination] = asset["destinations"].values()
    assert destination == {
        "bucketName": bucket,
        "objectKey": staged.key,
        "region": PROD.region,
        "assumeRoleArn": (
            f"arn:${{AWS::Partition}}:iam::{PROD.account}:role/"
            f"cdk-{QUALIFIER}-file-publishing-role-{PROD.account}-{PROD.region}"
        ),
    }


def test_the_staged_key_follows_the_model_data(tmp_path):
    _, stack = stage_stack(tmp_path, PROD)
    first = stage_model_data(stack, MODEL_DATA_URL)
    again = stage_model_data(stack, MODEL_DATA_URL)
    other = stage_model_data(stack, MODEL_DATA_URL.replace("train", "train-2"))
    assert first == again and first.key != other.key


@pytest.mark.parametrize("url", ["https://example.com/model.tar.gz", f"s3://{ARTIFACT_BUCKET}", "s3://Bad_Bucket/model.tar.gz"])
def test_model_data_that_is_no_s3_object_is_an_error(tmp_path, url):
    _, stack = stage_stack(tmp_path, PROD)
    with pytest.raises(CrossRegionError, match="is not an S3 object"):
        stage_model_data(stack, url)


def test_staged_model_data_arn():
    staged = StagedModelData(bucket="cdk-hnb659fds-assets-333333333333-us-east-1", key="abc.tar.gz")
    assert staged.s3_uri == "s3://cdk-hnb659fds-assets-333333333333-us-east-1/abc.tar.gz"
    assert staged.object_arn("aws-cn") == "arn:aws-cn:s3:::cdk-hnb659fds-assets-333333333333-us-east-1/abc.tar.gz"


def stub_aws(directory: Path, exit_code: int = 0) -> Path:
    """An ``aws`` that records its arguments, writes its last one as ``aws s3 cp`` would, and talks on
    stdout (which the fetch command must keep off its own)."""
    directory.mkdir()
    script = directory / "aws"
    script.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$(dirname "$0")/args"\n'
        "echo 'download: progress the fetch command must not print'\n"
        f"[ {exit_code} -eq 0 ] || exit {exit_code}\n"
        'for last; do :; done\nprintf "model bytes" > "$last"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def run_fetch(tmp_path: Path, exit_code: int = 0) -> tuple[subprocess.CompletedProcess, Path, list]:
    """Run the executable of the synthesized asset manifest as cdk-assets does: argv, no shell, in the
    folder of the manifest, with the stub ``aws`` first on PATH."""
    out = tmp_path / "cdk.out"
    app, stack = stage_stack(out, PROD)
    staged = stage_model_data(stack, MODEL_DATA_URL)
    app.synth()
    argv = json.loads((out / "prod.assets.json").read_text())["files"][staged.key]["source"]["executable"]
    bin_dir = tmp_path / "bin"
    stub_aws(bin_dir, exit_code)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(argv, cwd=out, env=env, capture_output=True, text=True, check=False)
    return result, out, argv


def test_the_fetch_command_prints_only_the_absolute_path_of_the_fetched_file(tmp_path):
    result, out, argv = run_fetch(tmp_path)
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip())
    assert result.stdout == f"{printed}\n"
    assert printed.is_absolute() and printed.resolve() == (out / argv[-1]).resolve()
    assert printed.read_text() == "model bytes"
    # aws ran as `aws s3 cp --only-show-errors <model data> <that file>`, its own output sent to stderr.
    assert (tmp_path / "bin" / "args").read_text().splitlines() == ["s3", "cp", "--only-show-errors", MODEL_DATA_URL, str(printed)]
    assert "progress" in result.stderr


def test_a_failed_fetch_prints_no_path_and_fails(tmp_path):
    result, out, argv = run_fetch(tmp_path, exit_code=3)
    assert result.returncode == 3
    assert result.stdout == ""
    assert not (out / argv[-1]).exists()


# --- What a stage's model is made of (stage_model) -----------------------------------------------

# The stubbed package's image (SageMaker's xgboost, of the project's region) as OTHER_REGION has it.
REGIONAL_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
# What a framework model (scikit-learn, ...) registers: its container needs these to serve.
ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
MODEL_DATA_SOURCE = {
    "S3DataSource": {"S3Uri": f"s3://{ARTIFACT_BUCKET}/model/", "S3DataType": "S3Prefix", "CompressionType": "None"}
}
DEV = StageLocation(account=STAGE_ACCOUNTS["dev"], region=REGION)


def described(*containers: dict) -> dict:
    """The part of DescribeModelPackage's answer that PackageContainer reads."""
    return {
        "InferenceSpecification": {
            "Containers": list(containers),
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        }
    }


def package(**container) -> ApprovedPackage:
    """The approved package, of IMAGE_URI and MODEL_DATA_URL unless ``container`` says otherwise."""
    fields = {"image_uri": IMAGE_URI, "model_data_url": MODEL_DATA_URL, **container}
    return ApprovedPackage(model_package_arn=PACKAGE_ARN, container=PackageContainer(**fields))


def synth_model(tmp_path: Path, location: StageLocation, approved: ApprovedPackage) -> tuple[StageModel, dict, dict]:
    """A stage stack in ``location`` whose SageMaker model is ``stage_model``'s: what it gave, the model's
    PrimaryContainer as synthesized, and the stage's file assets by key ({} without an asset manifest)."""
    app, stack = stage_stack(tmp_path, location)
    made_of = stage_model(stack, stage="prod", project_name=PROJECT_NAME, project_region=REGION, package=approved)
    aws_cdk.aws_sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=f"arn:aws:iam::{location.account}:role/model",
        primary_container=made_of.container,
    )
    app.synth()
    template = json.loads((tmp_path / "prod.template.json").read_text())
    manifest = tmp_path / "prod.assets.json"
    files = json.loads(manifest.read_text())["files"] if manifest.exists() else {}
    return made_of, template["Resources"]["Model"]["Properties"]["PrimaryContainer"], files


def test_the_package_container_is_the_first_of_the_packages_description():
    full = PackageContainer.of_package(described({"Image": IMAGE_URI, "ModelDataUrl": MODEL_DATA_URL, "Environment": ENVIRONMENT}))
    assert full == PackageContainer(
        image_uri=IMAGE_URI, model_data_url=MODEL_DATA_URL, environment=ENVIRONMENT, has_model_data_source=False, container_count=1
    )
    # An image alone: no model data and no environment.
    assert PackageContainer.of_package(described({"Image": IMAGE_URI})) == PackageContainer(
        image_uri=IMAGE_URI, model_data_url=None, environment={}, has_model_data_source=False, container_count=1
    )
    pipeline = PackageContainer.of_package(
        described({"Image": IMAGE_URI, "ModelDataSource": MODEL_DATA_SOURCE}, {"Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/post:1"})
    )
    assert (pipeline.image_uri, pipeline.model_data_url, pipeline.has_model_data_source, pipeline.container_count) == (
        IMAGE_URI, None, True, 2,
    )


def test_the_apps_registry_takes_the_packages_container():
    # Each app's ApprovedModel is an ApprovedPackage, whatever else it takes of the package.
    registry, stubber = stub_registry(
        package_extra=described({"Image": IMAGE_URI, "ModelDataUrl": MODEL_DATA_URL, "Environment": ENVIRONMENT})
    )
    model = registry.latest_approved(GROUP)
    stubber.assert_no_pending_responses()
    assert isinstance(model, ApprovedPackage)
    assert (model.model_package_arn, model.container) == (
        PACKAGE_ARN, PackageContainer(image_uri=IMAGE_URI, model_data_url=MODEL_DATA_URL, environment=ENVIRONMENT),
    )


def test_in_the_projects_region_the_model_is_the_package(tmp_path):
    # Whatever its container holds: SageMaker takes all of it from the package, which keeps the model's
    # lineage back to its registry entry.
    approved = package(environment=ENVIRONMENT, has_model_data_source=True, container_count=2)
    made_of, container, files = synth_model(tmp_path, DEV, approved)
    assert container == {"ModelPackageName": PACKAGE_ARN}
    assert (made_of.image_uri, made_of.staged_model_data) == (IMAGE_URI, None)
    assert files == {}


def test_in_another_region_the_model_is_the_packages_container_as_that_region_has_it(tmp_path):
    made_of, container, files = synth_model(tmp_path, PROD, package(environment=ENVIRONMENT))
    staged = made_of.staged_model_data
    assert staged is not None and staged.bucket == f"cdk-{QUALIFIER}-assets-{PROD.account}-{PROD.region}"
    # The image of the stage's region, the staged model data and the container's environment.
    assert container == {"Image": REGIONAL_IMAGE, "ModelDataUrl": staged.s3_uri, "Environment": ENVIRONMENT}
    assert made_of.image_uri == REGIONAL_IMAGE
    assert files[staged.key]["source"]["executable"][-2:] == [MODEL_DATA_URL, f"model-data-{staged.key}"]


def test_in_another_region_a_container_without_model_data_or_environment_is_its_image_alone(tmp_path):
    # SageMaker creates such a model (an image that holds its model): nothing to stage, nothing to read.
    made_of, container, files = synth_model(tmp_path, PROD, package(model_data_url=None))
    assert container == {"Image": REGIONAL_IMAGE}
    assert (made_of.image_uri, made_of.staged_model_data) == (REGIONAL_IMAGE, None)
    assert [key for key in files if key.endswith(".tar.gz")] == []


@pytest.mark.parametrize(
    "container, what",
    [
        ({"container_count": 2}, "2 containers (a serial inference pipeline), which"),
        (
            {"model_data_url": None, "has_model_data_source": True},
            "a ModelDataSource (uncompressed model data) instead of a ModelDataUrl, which",
        ),
        (
            {"container_count": 3, "has_model_data_source": True},
            "3 containers (a serial inference pipeline) and a ModelDataSource (uncompressed model data)",
        ),
    ],
)
def test_in_another_region_a_package_that_cannot_be_copied_is_an_error_with_what_to_do(tmp_path, container, what):
    app, stack = stage_stack(tmp_path, PROD)
    with pytest.raises(CrossRegionError) as raised:
        stage_model(stack, stage="prod", project_name=PROJECT_NAME, project_region=REGION, package=package(**container))
    message = str(raised.value)
    assert message.startswith(
        f"Stage 'prod' deploys to {OTHER_REGION}, another region than the project's ({REGION}), where SageMaker "
        f"cannot use the approved package {PACKAGE_ARN}"
    )
    assert f"but the package has {what}" in message
    assert "Register the model with one container and its model data as a ModelDataUrl" in message
    assert message.endswith(f"deploy the stage in {REGION} (set the SSM parameter /mlops/{PROJECT_NAME}/prod/region to {REGION}).")
    # Refused before anything is staged.
    aws_cdk.CfnWaitConditionHandle(stack, "Nothing")
    app.synth()
    files = json.loads((tmp_path / "prod.assets.json").read_text())["files"]
    assert [key for key in files if key.endswith(".tar.gz")] == []


def test_in_another_region_an_image_or_model_data_it_cannot_have_is_an_error(tmp_path):
    _, stack = stage_stack(tmp_path, PROD)
    with pytest.raises(CrossRegionError, match="is not an ECR image"):
        stage_model(
            stack, stage="prod", project_name=PROJECT_NAME, project_region=REGION, package=package(image_uri="docker.io/library/python:3.11")
        )
    with pytest.raises(CrossRegionError, match="is not an S3 object"):
        stage_model(
            stack, stage="prod", project_name=PROJECT_NAME, project_region=REGION, package=package(model_data_url="https://example.com/m.tar.gz")
        )
