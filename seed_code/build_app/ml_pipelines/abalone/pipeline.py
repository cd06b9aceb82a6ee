"""The Abalone model-building pipeline, trained with SageMaker's built-in XGBoost algorithm.

``get_pipeline`` only *describes* the pipeline; nothing runs until
``run_pipeline.py`` upserts and starts it. The steps are in ``steps.py``; this
module chooses the image that trains, evaluates and serves the model.

Data flow::

    InputDataUrl (S3 CSV)
      -> PreprocessAbaloneData  (scikit-learn processing job: train/validation/test CSVs)
      -> TrainAbaloneModel      (built-in XGBoost algorithm)
      -> EvaluateAbaloneModel   (evaluate.py in the XGBoost image; writes evaluation.json)
      -> CheckMseEvaluation     (MSE <= MseThreshold ?)
           yes -> RegisterAbaloneModel  (model package, PendingManualApproval)
           no  -> MseAboveThresholdFail
"""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.workflow.pipeline import Pipeline

from ml_pipelines.abalone.steps import build_pipeline

# Container versions are pinned so that a new SDK release cannot silently
# change the algorithm that trains (and later serves) the model.
XGBOOST_FRAMEWORK_VERSION = "1.7-1"


def get_pipeline(*, region: str, **kwargs) -> Pipeline:
    """Describe the Abalone pipeline, trained by the built-in XGBoost algorithm of ``region``.

    Args:
        region: AWS region the pipeline runs in (selects the container images).
        **kwargs: the other arguments of ``steps.build_pipeline`` (``role``,
            ``default_bucket``, ``model_package_group_name``, ``pipeline_name``, ...).

    Returns:
        The pipeline, ready for ``upsert()`` or ``definition()``.
    """
    xgboost_image = image_uris.retrieve(framework="xgboost", region=region, version=XGBOOST_FRAMEWORK_VERSION)
    # The built-in algorithm reports train:rmse and validation:rmse itself.
    return build_pipeline(region=region, image_uri=xgboost_image, **kwargs)
