"""Tests for the container's train and serve programs and the evaluation of their model."""

from __future__ import annotations

import importlib.util
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from threading import Thread

import numpy as np
import pytest

from ml_pipelines.abalone.scripts import evaluate, preprocess

CONTAINER = Path(__file__).resolve().parents[1] / "container"


def load_program(name: str):
    """Import container/program/<name>.py (it is installed without a suffix in the image)."""
    spec = importlib.util.spec_from_file_location(f"program_{name}", CONTAINER / "program" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_program = load_program("train")
serve_program = load_program("serve")


@pytest.fixture
def trained(abalone_csv, tmp_path) -> Path:
    """Lay out /opt/ml as SageMaker does from preprocessed splits, run `train`, return the prefix."""
    processing = tmp_path / "processing"
    preprocess.main(["--input-data", str(abalone_csv), "--base-dir", str(processing)])
    prefix = tmp_path / "opt_ml"
    for channel in ("train", "validation"):
        channel_dir = prefix / "input" / "data" / channel
        channel_dir.mkdir(parents=True)
        (channel_dir / f"{channel}.csv").write_bytes((processing / channel / f"{channel}.csv").read_bytes())
    config = prefix / "input" / "config"
    config.mkdir(parents=True)
    # Strings, as SageMaker writes them.
    (config / "hyperparameters.json").write_text(json.dumps({"num_round": "30", "max_depth": "3", "eta": "0.3"}))
    assert train_program.main(str(prefix)) == 0
    prefix.joinpath("test.csv").write_bytes((processing / "test" / "test.csv").read_bytes())
    return prefix


def test_train_writes_a_model_that_evaluate_accepts(trained, tmp_path):
    model_file = trained / "model" / train_program.MODEL_FILE_NAME
    assert model_file.is_file()
    # SageMaker tars /opt/ml/model into model.tar.gz; the evaluation step unpacks it.
    base = tmp_path / "evaluation"
    (base / "model").mkdir(parents=True)
    (base / "test").mkdir()
    with tarfile.open(base / "model" / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname=model_file.name)
    (base / "test" / "test.csv").write_bytes((trained / "test.csv").read_bytes())

    report = evaluate.main(["--base-dir", str(base)])

    labels = np.loadtxt(trained / "test.csv", delimiter=",")[:, 0]
    assert 0 < report["regression_metrics"]["mse"]["value"] < labels.var()


def test_hyperparameters_are_parsed_from_strings(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"num_round": "7", "eta": "0.2", "objective": "reg:absoluteerror"}))
    assert train_program.load_hyperparameters(path) == {
        "objective": "reg:absoluteerror",
        "num_round": 7,
        "max_depth": 5,
        "eta": 0.2,
    }


def test_train_failure_is_reported_to_sagemaker(tmp_path):
    assert train_program.main(str(tmp_path)) == 255
    assert "No .csv file in channel" in (tmp_path / "output" / "failure").read_text()


def test_predict_csv_gives_one_prediction_per_row(trained):
    booster = serve_program.load_booster(trained / "model")
    rows = np.loadtxt(trained / "test.csv", delimiter=",")[:3, 1:]
    body = "\n".join(",".join(str(v) for v in row) for row in rows)
    predictions = serve_program.predict_csv(booster, body).splitlines()
    assert len(predictions) == 3
    assert all(0 < float(p) < 40 for p in predictions)


def test_server_answers_ping_and_invocations(trained):
    server = serve_program.make_server(trained / "model", host="127.0.0.1", port=0)
    Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/ping", timeout=10) as response:
            assert response.status == 200
        row = ",".join(["0.1"] * 10)
        request = urllib.request.Request(
            f"{base}/invocations", data=f"{row}\n{row}".encode(), headers={"Content-Type": "text/csv"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"] == "text/csv"
            assert len(response.read().decode().splitlines()) == 2
        bad = urllib.request.Request(f"{base}/invocations", data=b"{}", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(bad, timeout=10)
        assert raised.value.code == 415
    finally:
        server.shutdown()
        server.server_close()


def test_dockerfile_copies_existing_files_onto_the_path():
    dockerfile = (CONTAINER / "Dockerfile").read_text()
    copies = [line.split()[1:] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    for source, _destination in copies:
        assert (CONTAINER / source).is_file(), source
    assert ["program/train.py", "/opt/program/train"] in copies
    assert ["program/serve.py", "/opt/program/serve"] in copies
    assert 'PATH="/opt/program:${PATH}"' in dockerfile
