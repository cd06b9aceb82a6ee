"""A stage in another region than the project's (mlops_deploy/regions.py): the image of the stage's
region, the synthesizer of its stack, the model data it stages through its CDK bootstrap (the
``<stage>.assets.json`` the deploy pipeline publishes) and the command that fetches that data."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import aws_cdk
import pytest

from mlops_deploy.aws_lookups import StageLocation
from mlops_deploy.regions import (
    MODEL_DATA_FETCH_COMMAND,
    SAGEMAKER_FRAMEWORK_IMAGE_ACCOUNTS,
    CrossRegionError,
    StagedModelData,
    in_project_region,
    partition_of,
    regional_image_uri,
    stage_model_data,
    stage_synthesizer,
)

from .deploy_stubs import ARTIFACT_BUCKET, IMAGE_URI, REGION, STAGE_ACCOUNTS

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
