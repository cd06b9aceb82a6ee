"""Tests for the preprocessing script, run on a generated Abalone-like sample."""

from __future__ import annotations

import io

import botocore.session
import numpy as np
import pandas as pd
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ml_pipelines.abalone.scripts import preprocess

# 7 scaled numeric columns + 3 one-hot columns for sex (F, I, M).
EXPECTED_COLUMNS = 1 + 7 + 3


def read_split(base_dir, name) -> pd.DataFrame:
    return pd.read_csv(base_dir / name / f"{name}.csv", header=None)


def test_main_writes_three_splits_with_label_first(abalone_csv, tmp_path):
    out = tmp_path / "processing"
    preprocess.main(["--input-data", str(abalone_csv), "--base-dir", str(out)])

    splits = {name: read_split(out, name) for name in preprocess.SPLITS}
    assert [len(splits[n]) for n in preprocess.SPLITS] == [210, 45, 45]
    raw = pd.read_csv(abalone_csv, header=None)
    for frame in splits.values():
        assert frame.shape[1] == EXPECTED_COLUMNS
        assert not frame.isna().any().any()
        # The label column holds the raw ring counts, untouched by scaling.
        assert set(frame[0]).issubset(set(raw[8].astype(float)))
    # One-hot columns are 0/1 and exactly one is set per row.
    one_hot = splits["train"].iloc[:, -3:]
    assert set(np.unique(one_hot)) == {0.0, 1.0}
    assert (one_hot.sum(axis=1) == 1).all()
    # Scaling statistics come from the training split: its features are centred.
    assert np.allclose(splits["train"].iloc[:, 1:8].mean(), 0, atol=1e-9)


def test_input_folder_and_header_row_are_accepted(abalone_csv, tmp_path):
    with_header = tmp_path / "folder"
    with_header.mkdir()
    raw = pd.read_csv(abalone_csv, header=None, names=preprocess.COLUMNS)
    raw.to_csv(with_header / "data.csv", index=False)

    df = preprocess.read_abalone(preprocess.resolve_input(str(with_header), tmp_path))

    assert len(df) == len(raw)
    assert df["length"].dtype == float


def test_missing_values_are_imputed_and_unlabelled_rows_dropped(abalone_csv, tmp_path):
    raw = pd.read_csv(abalone_csv, header=None, names=preprocess.COLUMNS)
    raw.loc[0:9, "length"] = np.nan
    raw.loc[10:14, "sex"] = np.nan
    raw.loc[15:19, "rings"] = np.nan
    path = tmp_path / "gappy.csv"
    raw.to_csv(path, header=False, index=False)

    encoded = preprocess.preprocess(preprocess.read_abalone(path))

    assert sum(len(rows) for rows in encoded.values()) == len(raw) - 5
    assert all(not np.isnan(rows).any() for rows in encoded.values())


def test_empty_input_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No .csv"):
        preprocess.resolve_input(str(tmp_path), tmp_path)


def test_s3_input_is_downloaded_with_get_object(abalone_csv, tmp_path):
    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    content = abalone_csv.read_bytes()
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(content), len(content))},
            {"Bucket": "sample-bucket", "Key": "datasets/abalone.csv"},
        )
        preprocess.main(
            ["--input-data", "s3://sample-bucket/datasets/abalone.csv", "--base-dir", str(tmp_path)],
            s3_client=client,
        )
        stubber.assert_no_pending_responses()

    assert (tmp_path / "input" / "abalone.csv").read_bytes() == content
    assert len(read_split(tmp_path, "test")) == 45


def test_baseline_holds_the_training_features_without_label(abalone_csv, tmp_path):
    out = tmp_path / "processing"
    preprocess.main(["--input-data", str(abalone_csv), "--base-dir", str(out), "--baseline"])

    baseline = read_split(out, "baseline")
    train = read_split(out, "train")
    # What the endpoint receives: the features, without the label column and without header.
    assert baseline.shape == (len(train), EXPECTED_COLUMNS - 1)
    assert np.allclose(baseline.to_numpy(), train.iloc[:, 1:].to_numpy())


def test_no_baseline_unless_asked(abalone_csv, tmp_path):
    out = tmp_path / "processing"
    preprocess.main(["--input-data", str(abalone_csv), "--base-dir", str(out)])
    assert sorted(p.name for p in out.iterdir() if p.name != "input") == sorted(preprocess.SPLITS)
