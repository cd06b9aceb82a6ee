#!/usr/bin/env python3
"""Serving program of the container: SageMaker runs it as ``serve`` on endpoints.

It follows the SageMaker hosting contract with the standard library only:
listen on port 8080, answer ``GET /ping`` with 200 once the model is loaded,
and ``POST /invocations`` with one prediction per CSV row of the request.
The model is read from ``/opt/ml/model/`` (the unpacked model.tar.gz).
"""

from __future__ import annotations

import io
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import xgboost

MODEL_FILE_NAME = "xgboost-model.ubj"  # the suffix tells xgboost the format


def load_booster(model_dir: Path) -> xgboost.Booster:
    booster = xgboost.Booster()
    booster.load_model(str(model_dir / MODEL_FILE_NAME))
    return booster


def predict_csv(booster: xgboost.Booster, body: str) -> str:
    """Predict for each row of a header-less, label-less CSV; one prediction per line."""
    features = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
    predictions = booster.predict(xgboost.DMatrix(features))
    return "\n".join(f"{value:.6g}" for value in predictions)


def make_handler(booster: xgboost.Booster) -> type:
    """A request handler class bound to ``booster``."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: HTTPStatus, body: str = "", content_type: str = "text/plain") -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/ping":
                self._reply(HTTPStatus.OK)
            else:
                self._reply(HTTPStatus.NOT_FOUND, "not found")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/invocations":
                self._reply(HTTPStatus.NOT_FOUND, "not found")
                return
            content_type = self.headers.get("Content-Type", "text/csv").split(";")[0].strip()
            if content_type != "text/csv":
                self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send text/csv")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            try:
                self._reply(HTTPStatus.OK, predict_csv(booster, body), "text/csv")
            except ValueError as error:  # malformed CSV is the caller's mistake
                self._reply(HTTPStatus.BAD_REQUEST, f"cannot parse CSV: {error}")

    return Handler


def make_server(model_dir: Path, host: str = "0.0.0.0", port: int = 8080) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(load_booster(model_dir)))


def main() -> None:
    server = make_server(Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")))
    print(f"Serving on port {server.server_address[1]}", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
