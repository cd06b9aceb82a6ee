"""Evaluate a trained XGBoost model on the test split and write a metrics report.

Runs inside the image that trained the model (it provides xgboost, pandas and
numpy), so it must not import anything from this repository. Inputs and
output, under ``--base-dir``:

* ``model/model.tar.gz``: the training job's artifact (holds one of ``MODEL_FILE_NAMES``)
* ``test/test.csv``: label in the first column, no header
* ``evaluation/evaluation.json``: the report that the pipeline's condition reads
  (``regression_metrics.mse.value``) and that is attached to the model package.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

# A predictor maps a feature matrix to one prediction per row.
Predictor = Callable[[np.ndarray], np.ndarray]

# Names of the booster's file in the artifact: ``xgboost-model.ubj`` (UBJSON, named by its
# suffix) from an image of your own, such as the BYOC template's container/program/train.py;
# ``xgboost-model`` from SageMaker's built-in XGBoost algorithm.
MODEL_FILE_NAMES = ("xgboost-model.ubj", "xgboost-model")


def find_model_file(model_dir: Path) -> Path:
    """The first of ``MODEL_FILE_NAMES`` that the unpacked artifact holds."""
    for name in MODEL_FILE_NAMES:
        if (model_dir / name).is_file():
            return model_dir / name
    found = sorted(p.name for p in model_dir.iterdir())
    raise FileNotFoundError(f"The model archive holds none of {', '.join(MODEL_FILE_NAMES)} (it holds: {found})")


def load_xgboost_predictor(model_archive: Path) -> Predictor:
    """Unpack ``model.tar.gz`` and return a function that predicts with the booster inside."""
    import xgboost  # imported here so that the rest of the script works without it

    extract_dir = Path(tempfile.mkdtemp())
    with tarfile.open(model_archive) as archive:
        archive.extractall(extract_dir)
    model_path = find_model_file(extract_dir)
    booster = xgboost.Booster()
    try:
        booster.load_model(str(model_path))
    except xgboost.core.XGBoostError:
        # Older built-in XGBoost containers saved the booster with pickle rather than save_model().
        with open(model_path, "rb") as handle:
            booster = pickle.load(handle)  # noqa: S301 - our own training job's artifact
    return lambda features: booster.predict(xgboost.DMatrix(features))


def read_test_data(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, features)`` from a header-less CSV whose first column is the label."""
    data = pd.read_csv(path, header=None).to_numpy(dtype=float)
    return data[:, 0], data[:, 1:]


def regression_report(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Build the report in the layout SageMaker Model Registry shows for regression metrics."""
    errors = labels - predictions
    squared_errors = errors**2
    return {
        "regression_metrics": {
            "mse": {"value": float(squared_errors.mean()), "standard_deviation": float(squared_errors.std())},
            "rmse": {"value": float(np.sqrt(squared_errors.mean()))},
            "mae": {"value": float(np.abs(errors).mean())},
        }
    }


def evaluate(predict: Predictor, test_csv: Path, output_dir: Path) -> dict:
    """Score ``predict`` on ``test_csv`` and write ``evaluation.json`` to ``output_dir``."""
    labels, features = read_test_data(test_csv)
    report = regression_report(labels, np.asarray(predict(features), dtype=float))
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2))
    logger.info("Evaluation report: %s", report)
    return report


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-dir", default=os.environ.get("PROCESSING_DIR", "/opt/ml/processing"))
    return parser.parse_args(argv)


def main(
    argv: Optional[Sequence[str]] = None,
    load_predictor: Callable[[Path], Predictor] = load_xgboost_predictor,
) -> dict:
    """Entry point; ``load_predictor`` is injectable so tests can swap the model."""
    base_dir = Path(parse_args(argv).base_dir)
    predict = load_predictor(base_dir / "model" / "model.tar.gz")
    return evaluate(predict, base_dir / "test" / "test.csv", base_dir / "evaluation")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
