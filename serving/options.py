# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The model server's command-line options (TF Serving's flags that relvid
supports), built without importing TensorFlow so that `--help` answers at
once."""
import argparse

from serving import batching

# The largest request (rows) the server accepts unless told otherwise.
DEFAULT_MAX_BATCH_SIZE = 1024


def add_server_arguments(parser: argparse.ArgumentParser,
                         model_path_required: bool) -> None:
  """TF Serving's model server flags that relvid supports."""
  parser.add_argument("--model_base_path", required=model_path_required,
                      help="folder (or gs:// URI) of numeric version folders")
  parser.add_argument("--model_name", default="relvid")
  parser.add_argument("--port", type=int, default=8500,
                      help="gRPC port (PredictionService, ModelService); 0 "
                      "turns gRPC off")
  parser.add_argument("--rest_api_port", type=int, default=8501,
                      help="REST port; 0 turns REST off")
  parser.add_argument("--host", default="127.0.0.1")
  parser.add_argument("--file_system_poll_wait_seconds", type=float,
                      default=2.0)
  parser.add_argument("--max_batch_size", type=int,
                      default=DEFAULT_MAX_BATCH_SIZE,
                      help="largest request (rows) accepted")
  parser.add_argument("--enable_batching", action="store_true",
                      help="merge concurrent requests into batched calls")
  parser.add_argument("--batching_parameters_file",
                      help="TF Serving text-proto BatchingParameters (implies "
                      "--enable_batching); default: " + batching.describe(
                          batching.BatchingParameters()))
  parser.add_argument("--grpc_max_threads", type=int, default=32,
                      help="gRPC request threads")


def server(prog: str, parents=()) -> argparse.ArgumentParser:
  """The server's parser; `parents` add options (relvid serve's --config);
  with parents the model path may come from them."""
  parser = argparse.ArgumentParser(
      prog=prog, parents=list(parents), allow_abbrev=False,
      description="Serve relvid models over TF Serving's REST and gRPC "
      "APIs.")
  add_server_arguments(parser, model_path_required=not parents)
  return parser
