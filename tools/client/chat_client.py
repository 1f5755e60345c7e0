#!/usr/bin/env python3
"""A tpserve chat client written against nothing but the published proto and grpcio.

It generates its stubs from proto/tpserve/v1/chat.proto at start-up (grpcio-tools), so it is what a
client author in another language would write by hand: no project code is imported.

  python3 tools/client/chat_client.py --addr 127.0.0.1:50051 --prompt "Hello"
  python3 tools/client/chat_client.py --addr ... --list-models

Exit status 0 when the stream ended with a final message, 1 otherwise.
"""
import argparse
import importlib
import pathlib
import sys
import tempfile

import grpc
from grpc_tools import protoc

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_stubs():
    out = pathlib.Path(tempfile.mkdtemp(prefix="tpserve_stubs_"))
    proto_root = REPO / "proto"
    rc = protoc.main([
        "protoc", f"-I{proto_root}", f"--python_out={out}", f"--grpc_python_out={out}",
        str(proto_root / "tpserve/v1/chat.proto"),
    ])
    if rc != 0:
        sys.exit(f"protoc failed ({rc})")
    sys.path.insert(0, str(out))
    pb2 = importlib.import_module("tpserve.v1.chat_pb2")
    pb2_grpc = importlib.import_module("tpserve.v1.chat_pb2_grpc")
    return pb2, pb2_grpc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--model", default="")
    ap.add_argument("--prompt", default="Hello! Who are you?")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--token", default="", help="bearer token")
    ap.add_argument("--list-models", action="store_true")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    pb2, pb2_grpc = load_stubs()
    stub = pb2_grpc.ChatServiceStub(grpc.insecure_channel(args.addr))
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []

    models = stub.ListModels(pb2.ListModelsRequest(), metadata=metadata, timeout=10)
    if args.list_models:
        for m in models.models:
            print(m.name, m.tier, m.context_length, f"{m.ready_replicas}/{m.replicas}", ",".join(m.capabilities))
        return 0
    model = args.model or (models.models[0].name if models.models else "")

    request = pb2.ChatRequest(
        model=model,
        messages=[pb2.Message(role="user", content=[pb2.ContentPart(text=args.prompt)])],
        max_tokens=args.max_tokens,
        sampling=pb2.SamplingParams(temperature=0.0),
        enable_thinking=False,
    )
    deltas = 0
    done = None
    for response in stub.Chat(request, metadata=metadata, timeout=args.timeout):
        which = response.WhichOneof("event")
        if which == "delta":
            deltas += 1
            sys.stdout.write(response.delta.reasoning + response.delta.content)
            sys.stdout.flush()
        elif which == "done":
            done = response.done
    print()
    if done is None:
        print("error: the stream ended without a final message", file=sys.stderr)
        return 1
    reason = pb2.FinishReason.Name(done.finish_reason)
    print(f"[{reason}: {done.usage.prompt_tokens} prompt + {done.usage.completion_tokens} completion "
          f"tokens in {deltas} deltas, first token {done.time_to_first_token_seconds:.3f} s]", file=sys.stderr)
    return 0 if done.usage.completion_tokens > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
