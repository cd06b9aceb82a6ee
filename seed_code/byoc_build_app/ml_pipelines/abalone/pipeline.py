"""The Abalone model-building pipeline, trained in this repository's own container.

``get_pipeline`` only *describes* the pipeline; nothing runs until
``run_pipeline.py`` upserts and starts it. The steps are in ``steps.py``; this
module says how they use the image built from ``container/``.

Data flow::

    InputDataUrl (S3 CSV)
      -> PreprocessAbaloneData  (scikit-learn processing job: train/validation/test CSVs)
      -> TrainAbaloneModel      (the container/ image: its `train` program)
      -> EvaluateAbaloneModel   (evaluate.py in the same image; writes evaluation.json)
      -> CheckMseEvaluation     (MSE <= MseThreshold ?)
           yes -> RegisterAbaloneModel  (model package, PendingManualApproval; `serve` answers)
           no  -> MseAboveThresholdFail
"""

from __future__ import annotations

from sagemaker.workflow.pipeline import Pipeline

from ml_pipelines.abalone.steps import build_pipeline

# train.py prints xgboost's evaluation log; these turn it into metrics.
METRIC_DEFINITIONS = [
    {"Name": "train:rmse", "Regex": r"train-rmse:([0-9.]+)"},
    {"Name": "validation:rmse", "Regex": r"validation-rmse:([0-9.]+)"},
]


def get_pipeline(*, image_uri: str, **kwargs) -> Pipeline:
    """Describe the Abalone pipeline, trained in this repository's own image.

    Args:
        image_uri: the image built from ``container/`` (pushed by buildspec-docker.yml);
            it trains, evaluates and serves the model.
        **kwargs: the other arguments of ``steps.build_pipeline`` (``region``, ``role``,
            ``default_bucket``, ``model_package_group_name``, ``pipeline_name``, ...).

    Returns:
        The pipeline, ready for ``upsert()`` or ``definition()``.
    """
    return build_pipeline(image_uri=image_uri, metric_definitions=METRIC_DEFINITIONS, **kwargs)
