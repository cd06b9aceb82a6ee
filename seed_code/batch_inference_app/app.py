#!/usr/bin/env python3
"""Entry point of ``cdk synth``: writes ``cdk.out/<stage>.template.json`` for every stage
(and ``<stage>.assets.json``, the model data to stage, for one in another region than the project's).

Reads the project from environment variables (see batch_inference/settings.py),
the newest approved model from the Model Registry, and each stage's account and
region from SSM, all in the DEV account.
"""

from __future__ import annotations

import sys
from typing import Optional

import boto3

from mlops_deploy.regions import CrossRegionError

from batch_inference.app_builder import build_app
from batch_inference.aws_lookups import MissingStageParameterError, ModelRegistry, NoApprovedModelError, StageLocator
from batch_inference.settings import ProjectSettings, SettingsError
from batch_inference.stage_config import StageConfigError

# Errors whose message says what to do; anything else keeps its traceback.
EXPECTED_ERRORS = (
    NoApprovedModelError, MissingStageParameterError, SettingsError, StageConfigError, CrossRegionError
)


def main(outdir: Optional[str] = None) -> int:
    """Synthesize into ``outdir`` (default: where ``cdk synth`` asks, else a temp dir); return the exit code."""
    try:
        project = ProjectSettings.from_env()
        session = boto3.Session(region_name=project.region)
        app = build_app(
            project,
            ModelRegistry(session.client("sagemaker")),
            StageLocator(session.client("ssm")),
            outdir=outdir,
        )
    except EXPECTED_ERRORS as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
