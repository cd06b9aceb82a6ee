"""A stage in another region than the project: refused at synth, before any template, with why and what to do."""

from __future__ import annotations

import dataclasses

import pytest

from deploy_endpoint.app_builder import CrossRegionStageError, build_app

from .conftest import IMAGE_URI, PACKAGE_ARN, PROJECT, StubbedRegistryModel, stub_locator, stub_registry


def test_the_lookup_records_the_packages_container(tmp_path):
    registry, stubber = stub_registry()
    model = registry.latest_approved(PROJECT.model_package_group_name)
    assert (model.image_uri, model.model_data_url) == (IMAGE_URI, StubbedRegistryModel.MODEL_DATA_URL)
    stubber.assert_no_pending_responses()


def test_a_stage_in_another_region_stops_synth_with_what_to_do(tmp_path):
    registry, _ = stub_registry()
    locator, _ = stub_locator(PROJECT.stages, regions={"prod": "us-east-1"})
    with pytest.raises(CrossRegionStageError) as raised:
        build_app(PROJECT, registry, locator, outdir=str(tmp_path)).synth()
    message = str(raised.value)
    assert message.startswith("Stage(s) prod (us-east-1) deploy to another region than the project (eu-west-1)")
    for needed in (PACKAGE_ARN, IMAGE_URI, StubbedRegistryModel.MODEL_DATA_URL, "a model package cannot be used from another region",
                   "deploy the stage in the project's region", "/mlops/<project>/<stage>/region", "'Stages in another region'"):
        assert needed in message
    # Nothing is written, not even the stages in the project's region.
    assert list(tmp_path.glob("*.template.json")) == []


def test_every_stage_in_another_region_is_named(tmp_path):
    registry, _ = stub_registry()
    locator, _ = stub_locator(PROJECT.stages, regions={"preprod": "us-west-2", "prod": "eu-central-1"})
    with pytest.raises(CrossRegionStageError, match=r"^Stage\(s\) preprod \(us-west-2\), prod \(eu-central-1\) deploy"):
        build_app(PROJECT, registry, locator, outdir=str(tmp_path))


def test_app_main_reports_a_cross_region_stage_as_an_error(monkeypatch, capsys, tmp_path):
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
        "ssm": stub_locator(PROJECT.stages, regions={"prod": "us-east-1"})[0]._ssm,
    }

    class Session:
        def __init__(self, region_name):
            pass

        def client(self, service):
            return clients[service]

    monkeypatch.setattr(app.boto3, "Session", Session)
    assert app.main(outdir=str(tmp_path)) == 1
    assert "ERROR: Stage(s) prod (us-east-1) deploy to another region" in capsys.readouterr().err


def test_same_region_stages_are_unchanged(tmp_path):
    project = dataclasses.replace(PROJECT, stages=("dev",))
    registry, _ = stub_registry()
    locator, _ = stub_locator(project.stages, regions={"dev": PROJECT.region})
    build_app(project, registry, locator, outdir=str(tmp_path)).synth()
    assert [p.name for p in tmp_path.glob("*.template.json")] == ["dev.template.json"]
