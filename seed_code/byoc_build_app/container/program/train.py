#!/usr/bin/env python3
"""Training program of the container: SageMaker runs it as ``train``.

It follows the SageMaker training contract:

* channels in ``/opt/ml/input/data/<channel>/`` (here ``train`` and ``validation``:
  header-less CSV, label in the first column),
* hyperparameters in ``/opt/ml/input/config/hyperparameters.json`` (all values strings),
* the model written to ``/opt/ml/model/`` (SageMaker tars it into model.tar.gz),
* on failure, the reason in ``/opt/ml/output/failure`` and a non-zero exit code.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pandas as pd
import xgboost

MODEL_FILE_NAME = "xgboost-model.ubj"  # the suffix tells xgboost the format
# Used when the training job does not set a hyperparameter.
DEFAULT_HYPERPARAMETERS: Dict[str, object] = {"objective": "reg:squarederror", "num_round": 50, "max_depth": 5}


def read_channel(channel_dir: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, features)`` from every CSV file of a channel."""
    files = sorted(channel_dir.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"No .csv file in channel {channel_dir}")
    data = pd.concat([pd.read_csv(f, header=None) for f in files]).to_numpy(dtype=float)
    return data[:, 0], data[:, 1:]


def parse_value(value: str) -> object:
    """SageMaker passes hyperparameters as strings; turn "5" into 5 and "0.2" into 0.2."""
    for convert in (int, float):
        try:
            return convert(value)
        except (TypeError, ValueError):
            pass
    return value


def load_hyperparameters(path: Path) -> Dict[str, object]:
    given = json.loads(path.read_text()) if path.is_file() else {}
    return {**DEFAULT_HYPERPARAMETERS, **{k: parse_value(v) for k, v in given.items()}}


def train(prefix: Path) -> xgboost.Booster:
    """Train on the channels under ``prefix`` (``/opt/ml`` in SageMaker) and save the model."""
    params = load_hyperparameters(prefix / "input" / "config" / "hyperparameters.json")
    num_round = int(params.pop("num_round"))
    labels, features = read_channel(prefix / "input" / "data" / "train")
    dtrain = xgboost.DMatrix(features, label=labels)
    evals = [(dtrain, "train")]
    validation_dir = prefix / "input" / "data" / "validation"
    if validation_dir.is_dir():
        val_labels, val_features = read_channel(validation_dir)
        evals.append((xgboost.DMatrix(val_features, label=val_labels), "validation"))
    # Prints lines like "[49]\ttrain-rmse:1.9\tvalidation-rmse:2.1", which the
    # estimator's metric_definitions turn into CloudWatch metrics.
    booster = xgboost.train(params, dtrain, num_boost_round=num_round, evals=evals, verbose_eval=True)
    model_dir = prefix / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    # Under the name that evaluate.py and serve look for.
    booster.save_model(str(model_dir / MODEL_FILE_NAME))
    return booster


def main(prefix: str = "/opt/ml") -> int:
    try:
        train(Path(prefix))
    except Exception as error:  # noqa: BLE001 - report any failure to SageMaker
        failure = Path(prefix) / "output" / "failure"
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(f"{error}\n{traceback.format_exc()}")
        print(f"Training failed: {error}", file=sys.stderr)
        return 255
    return 0


if __name__ == "__main__":
    # SageMaker passes "train" as the only argument; there is nothing else to parse.
    sys.exit(main())
