"""Assemble the CDK app: one EndpointStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from aws_cdk import App

from mlops_deploy.regions import CrossRegionError, in_project_region

from deploy_endpoint.aws_lookups import ApprovedModel, MissingBaselineError, ModelRegistry, StageLocation, StageLocator
from deploy_endpoint.endpoint_stack import EndpointStack
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import CONFIG_DIR, KMS_KEY_ARN, StageConfig, StageConfigError, load_stage_config


def build_app(
    project: ProjectSettings,
    registry: ModelRegistry,
    locator: StageLocator,
    *,
    config_dir: Path = CONFIG_DIR,
    outdir: Optional[str] = None,
) -> App:
    """Look up the model and stages, then define one stack per stage (nothing is written yet).

    All stages deploy the *same* approved package: a model reaches PROD only
    after it went through DEV and PREPROD in the same pipeline run. A stage in another
    region than the project's serves the package's image and model data in its own region
    (see EndpointStack).
    """
    model = registry.latest_approved(project.model_package_group_name)
    # Read every stage's settings first so one typo fails before any stack is made.
    configs = {stage: load_stage_config(stage, config_dir) for stage in project.stages}
    locations = {stage: locator.locate(project.project_name, stage) for stage in project.stages}
    # First what no model can fix (a stage's settings that its region cannot serve), then the model.
    _check_regions(project, configs, locations)
    monitored = [stage for stage, config in configs.items() if config.monitored(project.model_monitoring)]
    if monitored:
        _check_baseline(model, monitored)

    # No CDKMetadata resource: the templates are deployed by CloudFormation directly.
    app = App(outdir=outdir, analytics_reporting=False)
    for stage, config in configs.items():
        EndpointStack(
            app,
            stage,
            project=project,
            model=model,
            location=locations[stage],
            config=config,
        )
    return app


def _check_regions(
    project: ProjectSettings, configs: Dict[str, StageConfig], locations: Dict[str, StageLocation]
) -> None:
    """Stop before any stack if a stage's settings cannot be served in its region.

    SageMaker reads and writes S3 only in the endpoint's own region: a stage in another region than
    the project's (where the artifact bucket is) must capture data into a bucket of its region, and
    cannot be monitored (its baseline is in the artifact bucket). A data capture key must be of the
    stage's region in any case.
    """
    for stage, config in configs.items():
        location = locations[stage]
        file = f"config/{stage}.yml"
        capture = config.data_capture
        if capture.kms_key_arn:
            key_region = KMS_KEY_ARN.match(capture.kms_key_arn).group("region")
            if key_region != location.region:
                raise StageConfigError(
                    f"{file}: data_capture.kms_key_arn {capture.kms_key_arn} is a key of {key_region}, but stage "
                    f"'{stage}' deploys to {location.region}, and SageMaker encrypts captures only with a key of "
                    f"the endpoint's region: name a key of {location.region}, or remove data_capture.kms_key_arn "
                    "to use the bucket's default encryption"
                )
        if in_project_region(project.region, location):
            continue
        if capture.enabled and not capture.destination_s3_uri:
            raise CrossRegionError(
                f"Stage '{stage}' deploys to {location.region}, another region than the project's ({project.region}), "
                f"and captures data ({file}: data_capture.enabled: true), but SageMaker writes captured data only to "
                f"a bucket of the endpoint's region, and the project's artifact bucket ({project.artifact_bucket}) "
                f"is in {project.region}. Set data_capture.destination_s3_uri in {file} to an S3 prefix "
                f"(s3://<bucket>/<prefix>) of a bucket in account {location.account} and region {location.region} "
                "(and data_capture.kms_key_arn to its KMS key, if its default encryption is a customer managed "
                f"key), or set data_capture.enabled: false in {file}, or deploy the stage in {project.region}."
            )
        if config.monitored(project.model_monitoring):
            raise CrossRegionError(
                f"Stage '{stage}' deploys to {location.region}, another region than the project's ({project.region}), "
                "and model monitoring is on for it (MODEL_MONITORING of the synth build, or monitoring.enabled in "
                f"{file}), which this app cannot set up there: the monitoring jobs would read the model's baseline "
                f"and write their reports in the project's artifact bucket ({project.artifact_bucket}, in "
                f"{project.region}), and SageMaker reads and writes S3 only in the endpoint's region. Set "
                f"monitoring.enabled: false in {file} (its endpoint still captures data), or deploy the stage in "
                f"{project.region}. See README.md, 'Stages in another region'."
            )


def _check_baseline(model: ApprovedModel, monitored_stages: list) -> None:
    if model.data_quality_baseline is not None:
        return
    raise MissingBaselineError(
        f"Model monitoring is on for stage(s) {', '.join(monitored_stages)}, but the approved model package "
        f"{model.model_package_arn} has no data-quality baseline (DriftCheckBaselines.ModelDataQuality or "
        "ModelMetrics.ModelDataQuality), which the monitoring schedules compare captured requests with. "
        "Enable MODEL_MONITORING=true in the environment of the model build repository's build, let it "
        "retrain and register a new model version (it then computes and records the baseline), approve that "
        "version, and deploy again. Or turn monitoring off: unset MODEL_MONITORING in this synth build, or "
        "set monitoring.enabled: false in config/<stage>.yml."
    )
