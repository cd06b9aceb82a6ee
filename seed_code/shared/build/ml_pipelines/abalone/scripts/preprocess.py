"""Preprocess the Abalone data set: clean, split, and encode it for XGBoost.

Runs inside the SageMaker scikit-learn processing container, so it must not
import anything from this repository. Outputs, under ``--base-dir``:

* ``train/train.csv``, ``validation/validation.csv``, ``test/test.csv``:
  no header, the label (``rings``) in the first column, then the features,
  the CSV layout the built-in XGBoost algorithm expects.
* with ``--baseline``, also ``baseline/baseline.csv``: the training split's
  features alone (no label, no header), the rows an endpoint receives; the
  pipeline's data-quality baseline (model monitoring) is computed from them.

Run it locally on a CSV file (or a folder of them) with::

    python preprocess.py --input-data data/abalone.csv --base-dir /tmp/abalone
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Dict, Optional, Sequence
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

logger = logging.getLogger(__name__)

LABEL_COLUMN = "rings"
CATEGORICAL_COLUMNS = ["sex"]
NUMERIC_COLUMNS = [
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
]
# Column order of the raw UCI file, which has no header row.
COLUMNS = CATEGORICAL_COLUMNS + NUMERIC_COLUMNS + [LABEL_COLUMN]

SPLITS = ("train", "validation", "test")


def download_from_s3(s3_uri: str, destination_dir: Path, s3_client=None) -> Path:
    """Download one S3 object into ``destination_dir`` and return its local path.

    ``s3_client`` is injectable so tests can pass a stubbed client.
    """
    if s3_client is None:
        import boto3  # present in the SageMaker containers; only needed for S3 input

        s3_client = boto3.client("s3")
    parsed = urlparse(s3_uri)
    key = parsed.path.lstrip("/")
    destination_dir.mkdir(parents=True, exist_ok=True)
    local_path = destination_dir / (Path(key).name or "input.csv")
    # get_object (rather than download_file) follows the bucket's region,
    # so the data may live in a different region from the job.
    body = s3_client.get_object(Bucket=parsed.netloc, Key=key)["Body"]
    local_path.write_bytes(body.read())
    logger.info("Downloaded %s to %s", s3_uri, local_path)
    return local_path


def resolve_input(input_data: str, work_dir: Path, s3_client=None) -> Path:
    """Turn ``--input-data`` (an S3 URI, a CSV file or a folder) into a local CSV path."""
    if input_data.startswith("s3://"):
        return download_from_s3(input_data, work_dir / "input", s3_client)
    path = Path(input_data)
    if path.is_dir():
        csv_files = sorted(path.glob("*.csv"))
        if not csv_files:
            raise FileNotFoundError(f"No .csv file in {path}")
        return csv_files[0]
    return path


def read_abalone(path: Path) -> pd.DataFrame:
    """Read a raw Abalone CSV, with or without a header row, into typed columns."""
    df = pd.read_csv(path, header=None, names=COLUMNS)
    # Some copies of the file have a header row: text where every number should
    # be. (A first row with a few *missing* values is data, not a header.)
    first_row = df.loc[0, NUMERIC_COLUMNS]
    if first_row.notna().all() and pd.to_numeric(first_row, errors="coerce").isna().all():
        df = df.iloc[1:].reset_index(drop=True)
    for column in NUMERIC_COLUMNS + [LABEL_COLUMN]:
        df[column] = pd.to_numeric(df[column], errors="coerce")
    # A row without a label cannot be used for training or evaluation.
    return df.dropna(subset=[LABEL_COLUMN])


def build_feature_transformer() -> ColumnTransformer:
    """Impute and scale numeric columns; impute and one-hot encode ``sex``."""
    return ColumnTransformer(
        transformers=[
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC_COLUMNS),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                CATEGORICAL_COLUMNS,
            ),
        ],
        # Keep the output dense: XGBoost's CSV input cannot take sparse matrices.
        sparse_threshold=0,
    )


def split_data(df: pd.DataFrame, seed: int = 42) -> Dict[str, pd.DataFrame]:
    """Split rows 70/15/15 into train, validation and test, reproducibly."""
    train, rest = train_test_split(df, test_size=0.3, random_state=seed)
    validation, test = train_test_split(rest, test_size=0.5, random_state=seed)
    return {"train": train, "validation": validation, "test": test}


def preprocess(df: pd.DataFrame, seed: int = 42) -> Dict[str, np.ndarray]:
    """Split ``df`` and encode each split as ``[label, features...]`` rows.

    The transformer is fitted on the training split only, so statistics of the
    validation and test rows do not leak into training.
    """
    splits = split_data(df, seed)
    transformer = build_feature_transformer()
    transformer.fit(splits["train"][NUMERIC_COLUMNS + CATEGORICAL_COLUMNS])
    encoded = {}
    for name, frame in splits.items():
        features = transformer.transform(frame[NUMERIC_COLUMNS + CATEGORICAL_COLUMNS])
        labels = frame[LABEL_COLUMN].to_numpy(dtype=float).reshape(-1, 1)
        encoded[name] = np.hstack([labels, features])
    return encoded


def write_splits(splits: Dict[str, np.ndarray], base_dir: Path) -> None:
    """Write each split to ``<base_dir>/<split>/<split>.csv`` without header or index."""
    for name, rows in splits.items():
        out_dir = base_dir / name
        out_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(out_dir / f"{name}.csv", header=False, index=False)
        logger.info("Wrote %d rows to %s", len(rows), out_dir)


def write_baseline(splits: Dict[str, np.ndarray], base_dir: Path) -> None:
    """Write the training split's features, without the label, to ``<base_dir>/baseline/baseline.csv``.

    Requests to the endpoint hold the features alone, so the data-quality baseline that
    monitoring compares captured requests with must not have the label column.
    """
    out_dir = base_dir / "baseline"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = splits["train"][:, 1:]
    pd.DataFrame(rows).to_csv(out_dir / "baseline.csv", header=False, index=False)
    logger.info("Wrote %d baseline rows to %s", len(rows), out_dir)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-data", required=True, help="S3 URI, CSV file or folder of CSV files")
    parser.add_argument("--base-dir", default=os.environ.get("PROCESSING_DIR", "/opt/ml/processing"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baseline", action="store_true", help="also write baseline/baseline.csv (features only)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None, s3_client=None) -> None:
    args = parse_args(argv)
    base_dir = Path(args.base_dir)
    df = read_abalone(resolve_input(args.input_data, base_dir, s3_client))
    logger.info("Read %d labelled rows", len(df))
    splits = preprocess(df, seed=args.seed)
    write_splits(splits, base_dir)
    if args.baseline:
        write_baseline(splits, base_dir)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
