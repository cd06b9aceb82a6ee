"""Create or update the SageMaker pipeline, then start it.

The CodeBuild project of this repository runs this through ``buildspec.yml``
with the project's environment variables. Run it yourself (with AWS
credentials for the DEV account) to try a change before you push it::

    python -m ml_pipelines.run_pipeline --pipeline-name my-test-pipeline ... --print-definition --no-start
"""

from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from ml_pipelines.abalone.pipeline import get_pipeline
from ml_pipelines.runner import argument_parser, pipeline_arguments, upsert_and_start


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    return argument_parser().parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    upsert_and_start(get_pipeline(**pipeline_arguments(args)), args)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    main()
