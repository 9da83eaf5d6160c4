#!/usr/bin/env python3
"""Writes fixture.safetensors the way PyTorch's safetensors does, with only
json and struct (no safetensors package), so test_safetensors.c checks the
runtime against a file it did not write. Usage: make_fixture.py OUT.

Also `make_fixture.py --check FILE`: reads a file dnnc's runtime wrote,
checks the layout rules (header length a multiple of 8, padded with
spaces, offsets contiguous from 0 and covering the data) and prints each
tensor as "name dtype shape values". And `make_fixture.py --torch FILE`
loads such a file into nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
with the strict load_state_dict and prints the eval-mode output for one
input (needs torch; exits 3 without it)."""
import json
import struct
import sys

# name -> (dtype, shape, values). The JSON below uses Python's separators
# ", " and ": " and ASCII escapes (\u00e9), unlike the runtime's writer.
TENSORS = {
    "fc1.weight": ("F32", [3, 2], [0.5, -1.25, 3.0e-8, 1.0e30, -0.0, 7.0]),
    "fc1.bias": ("F32", [3], [0.1, -0.2, 0.3]),
    "scale": ("F32", [], [2.5]),
    "bn.num_batches_tracked": ("I64", [], [5]),
    "caf\u00e9.weight": ("F32", [2], [float("inf"), -3.5]),
}
FORMATS = {"F32": "<f", "I64": "<q", "F64": "<d", "I32": "<i", "U8": "<B"}


def write(path):
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, (dtype, shape, values) in TENSORS.items():
        blob = b"".join(struct.pack(FORMATS[dtype], v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def read(path):
    """name -> (dtype, shape, values), checking the layout on the way."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n]
    assert n % 8 == 0, "header length not a multiple of 8"
    assert text.rstrip(b" ") == text.strip(), "header not padded with spaces"
    header = json.loads(text)
    data = raw[8 + n:]
    end, tensors = 0, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, stop = t["data_offsets"]
        assert begin == end, f"{name}: offsets not contiguous"
        size = struct.calcsize(FORMATS[t["dtype"]])
        count = len(data[begin:stop]) // size
        values = struct.unpack("<%d%s" % (count, FORMATS[t["dtype"]][1]), data[begin:stop])
        tensors[name] = (t["dtype"], t["shape"], values)
        end = stop
    assert end == len(data), "data not covered exactly"
    return tensors


def check(path):
    for name, (dtype, shape, values) in read(path).items():
        print(name, dtype, shape, " ".join(repr(v) for v in values))


def torch_check(path):
    try:
        import torch
    except ImportError:
        sys.exit(3)
    kinds = {"F32": torch.float32, "I64": torch.int64}
    state = {name: torch.tensor(values, dtype=kinds[dtype]).reshape(shape)
             for name, (dtype, shape, values) in read(path).items()}
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    model.load_state_dict(state, strict=True)
    model.eval()
    print("num_batches_tracked", model[1].num_batches_tracked.item())
    print("out", [round(v, 5) for v in model(torch.tensor([[1.0, -1.0]]))[0].tolist()])


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(sys.argv[2])
    elif sys.argv[1] == "--torch":
        torch_check(sys.argv[2])
    else:
        write(sys.argv[1])
