"""Assemble the CDK app: one EndpointStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from aws_cdk import App

from deploy_endpoint.aws_lookups import ApprovedModel, MissingBaselineError, ModelRegistry, StageLocation, StageLocator
from deploy_endpoint.endpoint_stack import EndpointStack
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import CONFIG_DIR, load_stage_config


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
    after it went through DEV and PREPROD in the same pipeline run.
    """
    model = registry.latest_approved(project.model_package_group_name)
    # Read every stage's settings first so one typo fails before any stack is made.
    configs = {stage: load_stage_config(stage, config_dir) for stage in project.stages}
    monitored = [stage for stage, config in configs.items() if config.monitored(project.model_monitoring)]
    if monitored:
        _check_baseline(model, monitored)

    locations = {stage: locator.locate(project.project_name, stage) for stage in project.stages}
    _check_regions(project, model, locations)

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


class CrossRegionStageError(RuntimeError):
    """A stage deploys to another region than the project's, which this app cannot serve the model in."""


def _check_regions(project: ProjectSettings, model: ApprovedModel, locations: Dict[str, StageLocation]) -> None:
    """Stop before any stack if a stage is in another region than the project (the model registry).

    SageMaker creates a model only from a model package, an image and model data of the model's own
    region. Serving the package in another region needs its model data copied into that region at
    deploy time, which needs a Lambda-backed custom resource in the stage template: CDK's
    AwsCustomResource is a file asset, which these bootstrapless templates cannot carry ("Cannot add
    assets to a Stack that uses the BootstraplessSynthesizer"), and an inline function fails the
    deploy pipeline's security scan (checkov 3.3.30: CKV_AWS_116, no dead-letter queue; CKV_AWS_117,
    not in a VPC). So such stages are refused, with what to do instead.
    """
    other = {stage: location.region for stage, location in locations.items() if location.region != project.region}
    if not other:
        return
    model_data = model.model_data_url or "the package's ModelDataUrl"
    listed = ", ".join(f"{stage} ({region})" for stage, region in other.items())
    raise CrossRegionStageError(
        f"Stage(s) {listed} deploy to another region than the project ({project.region}), and this app "
        "can only deploy a stage in the project's region. SageMaker creates a model only in the region of "
        f"its model package ({model.model_package_arn}), its container image ({model.image_uri}) and its "
        f"model data ({model_data}); a model package cannot be "
        "used from another region. What is needed: deploy the stage in the project's region (change its "
        "region in the project's stages; the SSM parameter /mlops/<project>/<stage>/region follows), or "
        "extend deploy_endpoint/endpoint_stack.py to create the stage's model from the package's container "
        "with the image of the stage's region and the model data copied into a bucket of that region (a "
        "Lambda-backed custom resource: the stage template can carry it only as inline code, which must "
        "pass the deploy pipeline's security scan (a dead-letter queue and a VPC for the function), and "
        "the target accounts must allow Lambda functions and S3 buckets). See README.md, "
        "'Stages in another region'."
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
