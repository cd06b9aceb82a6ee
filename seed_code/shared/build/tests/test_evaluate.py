"""Tests for the evaluation script: a real (tiny) XGBoost model and an injected one."""

from __future__ import annotations

import json
import tarfile
import warnings

import numpy as np
import pytest
import xgboost

from ml_pipelines.abalone.scripts import evaluate, preprocess


@pytest.fixture
def processing_dir(abalone_csv, tmp_path):
    """A processing folder with train/validation/test splits made by preprocess.py."""
    base = tmp_path / "processing"
    preprocess.main(["--input-data", str(abalone_csv), "--base-dir", str(base)])
    return base


def train_tiny_model(processing_dir, file_name: str) -> None:
    """Train a few rounds and package the booster the way a SageMaker training job does."""
    train = np.loadtxt(processing_dir / "train" / "train.csv", delimiter=",")
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 3},
        xgboost.DMatrix(train[:, 1:], label=train[:, 0]),
        num_boost_round=20,
    )
    model_file = processing_dir / file_name
    # Without a suffix xgboost writes (and reads) UBJSON, and warns that it chose the format.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*format", category=UserWarning)
        booster.save_model(str(model_file))
    (processing_dir / "model").mkdir()
    with tarfile.open(processing_dir / "model" / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname=file_name)


@pytest.mark.filterwarnings("ignore:.*Unknown file format:UserWarning")
@pytest.mark.parametrize("file_name", evaluate.MODEL_FILE_NAMES)
def test_evaluates_real_xgboost_artifact(processing_dir, file_name):
    train_tiny_model(processing_dir, file_name)

    report = evaluate.main(["--base-dir", str(processing_dir)])

    written = json.loads((processing_dir / "evaluation" / "evaluation.json").read_text())
    assert written == report
    mse = written["regression_metrics"]["mse"]["value"]
    # The labels depend on length with noise sd 1, so a trained model gets close.
    labels = np.loadtxt(processing_dir / "test" / "test.csv", delimiter=",")[:, 0]
    assert 0 < mse < labels.var()
    assert written["regression_metrics"]["rmse"]["value"] == pytest.approx(np.sqrt(mse))


def test_an_artifact_without_a_known_model_file_is_an_error_naming_what_it_holds(processing_dir):
    (processing_dir / "model").mkdir()
    (processing_dir / "model.bin").write_bytes(b"not a model")
    with tarfile.open(processing_dir / "model" / "model.tar.gz", "w:gz") as archive:
        archive.add(processing_dir / "model.bin", arcname="model.bin")

    with pytest.raises(FileNotFoundError, match=r"none of xgboost-model\.ubj, xgboost-model .*'model\.bin'"):
        evaluate.main(["--base-dir", str(processing_dir)])


def test_metrics_are_computed_from_predictions(processing_dir):
    labels = np.loadtxt(processing_dir / "test" / "test.csv", delimiter=",")[:, 0]
    off_by_two = lambda features: labels + 2.0  # noqa: E731

    report = evaluate.main(["--base-dir", str(processing_dir)], load_predictor=lambda _path: off_by_two)

    metrics = report["regression_metrics"]
    assert metrics["mse"]["value"] == pytest.approx(4.0)
    assert metrics["mse"]["standard_deviation"] == pytest.approx(0.0)
    assert metrics["mae"]["value"] == pytest.approx(2.0)
