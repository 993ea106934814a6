#!/usr/bin/env python3
"""Calls a running `rlhf serve` over gRPC from Python's grpcio, compiling the committed proto at
run time: Generate, GenerateStream (the pieces must join to Generate's text for the same seed) and,
if the server has a reward model, Score. An independent gRPC implementation checks the Swift one.

    pip install grpcio grpcio-tools
    rlhf serve --model DIR [--reward-model DIR] --grpc-port 50051 &
    python3 scripts/grpc_interop_check.py 127.0.0.1:50051 [--score]
"""
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
out = tempfile.mkdtemp()
include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
if protoc.main(["protoc", f"-I{root}/Protos", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", "rlhf/v1/generation.proto"]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)
from rlhf.v1 import generation_pb2 as pb, generation_pb2_grpc as rpc  # noqa: E402

stub = rpc.GenerationStub(grpc.insecure_channel(target))
request = pb.GenerateRequest(prompt="ROMEO:", max_tokens=24, temperature=0.8, seed=5, n=2, logprobs=True)
answer = stub.Generate(request)
# usage counts an end-of-sequence token that token_ids leave out: at most one per choice.
visible = sum(len(c.token_ids) for c in answer.choices)
assert len(answer.choices) == 2 and visible <= answer.usage.completion_tokens <= visible + 2, answer
assert all(len(c.logprobs) == len(c.token_ids) for c in answer.choices), answer
print(f"Generate: {answer.model} {answer.id} usage={answer.usage.prompt_tokens}+{answer.usage.completion_tokens}")
for choice in answer.choices:
    print(f"  [{choice.index}] {choice.finish_reason} {len(choice.logprobs)} logprobs: {choice.text!r}")
single = pb.GenerateRequest(prompt="ROMEO:", max_tokens=24, temperature=0.8, seed=5)
chunks = list(stub.GenerateStream(single))
joined = "".join(c.text for c in chunks)
assert joined == answer.choices[0].text, (joined, answer.choices[0].text)
assert chunks[-1].finish_reason and chunks[-1].HasField("usage"), chunks[-1]
print(f"GenerateStream: {len(chunks)} chunks join to choice 0's text; last: finish={chunks[-1].finish_reason} usage={chunks[-1].usage.completion_tokens}")
try:
    stub.Generate(pb.GenerateRequest(prompt="ROMEO:", max_tokens=100000))
    sys.exit("a max_tokens over the limit was accepted")
except grpc.RpcError as error:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    print(f"max_tokens=100000: {error.code().name}: {error.details()}")
if "--score" in sys.argv:
    scores = stub.Score(pb.ScoreRequest(texts=["O happy day, my love!", "Alas, woe and death."]))
    print(f"Score: {list(scores.scores)}")
print("grpc interop: ok")
