"""compile_case.py — the files compile.sh feeds dnnc --quantize=int8, and
the check of what the generated model computed against PyTorch.

    compile_case.py make CASE DIR      # DIR/w.safetensors (float weights, the
                                       # .dnn's names), DIR/dnn (the .dnn file's
                                       # name), DIR/cal.safetensors (128
                                       # samples), DIR/x.f32 (32 test samples),
                                       # DIR/torch.safetensors (oracle.dump)
    compile_case.py check CASE DIR     # DIR/out.f32 (logits, probs of each
                                       # sample) and DIR/saved.safetensors
                                       # (NAME_save) against the dump

CASE is a models.CASES name with a .dnn twin here (CASES below: the .dnn
file and, per .dnn layer, its torch module). The check prints one line:
differing uint8 outputs (one step apart from PyTorch's is allowed for 1 %
of them, README "What the contract should say instead", last point; more
than one step, never), and whether the int8 weights, weight scales and
int32 biases equal torch's bit for bit. Exit status 1 on a failure.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import models  # noqa: E402
import oracle  # noqa: E402
import twins  # noqa: E402

# case -> (.dnn file, {.dnn layer label: its torch module}, the dense/conv2d labels among them)
_LENET = {"features.0": "body.0", "features.3": "body.3", "logits.1": "body.7", "logits.3": "body.9",
          "logits.5": "body.11"}
_RESIDUAL = {"stem.0": "body.0", "stem.1": "body.1", "same.0": "body.3.body.0", "same.1": "body.3.body.1",
             "same.3": "body.3.body.3", "same.4": "body.3.body.4", "down.0": "body.5.body.0",
             "down.1": "body.5.body.1", "down.3": "body.5.body.3", "down.4": "body.5.body.4",
             "shortcut.0": "body.5.shortcut.0", "shortcut.1": "body.5.shortcut.1", "logits.2": "body.9"}
_DEPTHWISE = dict({"features.%d" % i: "body.%d" % i for i in range(15) if i % 3 != 2}, **{"logits.2": "body.17"})
CASES = {
    "mlp": ("mlp.dnn", {"logits.1": "body.1", "logits.3": "body.3", "logits.5": "body.5"},
            ["logits.1", "logits.3", "logits.5"]),
    "lenet5": ("lenet5.dnn", _LENET, list(_LENET)),
    "residual": ("residual.dnn", _RESIDUAL, ["stem.0", "same.0", "same.3", "down.0", "down.3", "shortcut.0",
                                             "logits.2"]),
    "depthwise_separable": ("depthwise.dnn", _DEPTHWISE, ["features.%d" % i for i in range(0, 15, 3)] + ["logits.2"]),
}
SAMPLES = 32


def read_safetensors(path):
    import json
    import struct
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    kinds = {"F32": "<f4", "I32": "<i4", "I8": "i1", "U8": "u1", "I64": "<i8"}
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=kinds[v["dtype"]]).reshape(v["shape"])
    return out


def make(case, d):
    dnn, modules, _ = CASES[case]
    with open(os.path.join(d, "dnn"), "w") as f:   # the .dnn file's name, for compile.sh
        f.write(dnn)
    model, shape = models.build(case)
    gen = torch.Generator().manual_seed(1)
    calib = torch.randn(128, *shape, generator=gen)
    x = torch.randn(SAMPLES, *shape, generator=gen)
    qmodel, _ = oracle.ptq(model, calib)
    state = model.state_dict()
    weights = []
    for label, mod in modules.items():   # each module's own tensors, batchnorm statistics too
        for key, value in state.items():
            if key.startswith(mod + ".") and "." not in key[len(mod) + 1:]:
                weights.append((label + key[len(mod):], value.numpy().astype(np.float32)))
    twins.write_safetensors(os.path.join(d, "w.safetensors"), weights)
    twins.write_safetensors(os.path.join(d, "cal.safetensors"), [("image", calib.numpy())])
    x.numpy().astype("<f4").tofile(os.path.join(d, "x.f32"))
    oracle.save(os.path.join(d, "torch.safetensors"), oracle.dump(qmodel, x))


def check(case, d):
    _, modules, labels = CASES[case]
    layers = {label: modules[label] for label in labels}
    ref = read_safetensors(os.path.join(d, "torch.safetensors"))
    saved = read_safetensors(os.path.join(d, "saved.safetensors"))
    last, last_label = list(layers.values())[-1], list(layers)[-1]
    q_ref = ref[last].reshape(SAMPLES, -1).astype(np.int64)
    k = q_ref.shape[1]
    out = np.fromfile(os.path.join(d, "out.f32"), dtype="<f4").reshape(SAMPLES, 2 * k)
    logits, probs = out[:, :k], out[:, k:]
    s, zp = saved[last_label + ".scale"], int(saved[last_label + ".zero_point"])
    q = np.rint(logits / s).astype(np.int64) + zp           # our uint8 output, back from its dequantization
    differ, far = int(np.sum(q != q_ref)), int(np.sum(np.abs(q - q_ref) > 1))
    p_ref = torch.softmax(torch.from_numpy(logits), 1).numpy()  # softmax of our own logits, in float
    probs_ok = np.allclose(probs, p_ref, rtol=1e-5, atol=1e-7)
    exact, off = [], []   # must be equal; equal up to the calibration (an ulp of a scale, one of a bias)
    for label, mod in layers.items():
        for ours, theirs, strict in [(".weight", ".weight", True), (".weight_scale", ".weight_scale", True),
                                     (".bias", ".bias_q", False), (".scale", ".scale", False),
                                     (".zero_point", ".zero_point", False)]:
            a, b = saved.get(label + ours), ref.get(mod + theirs)
            if a is None or b is None or a.dtype != b.dtype or a.shape != np.shape(b):
                exact.append(label + ours)
            elif a.tobytes() != np.asarray(b).tobytes():
                near = ours == ".bias" and np.max(np.abs(a.astype(np.int64) - b)) <= 1 or \
                    ours == ".scale" and abs(np.float32(a).view(np.int32) - np.float32(b).view(np.int32)) <= 4
                (off if near and not strict else exact).append(label + ours)
    ok = far == 0 and differ <= q.size // 100 and probs_ok and not exact   # (0 of 320 in every case today)
    print("%s quant/compile.%s: %d of %d uint8 outputs differ from PyTorch's, %d by more than one step; int8 weights and "
          "weight scales %s; %s; softmax %s"
          % ("PASS" if ok else "FAIL", case, differ, q.size, far,
             "bit for bit" if not exact else "differ: " + " ".join(exact),
             "biases, scales and zero points equal" if not off else "an ulp or one step off (calibration order: a scale within 4 ulps, a bias within 1): "
             + " ".join(off), "ok" if probs_ok else "wrong"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("make", "check") or sys.argv[2] not in CASES:
        print("usage: compile_case.py make|check %s DIR" % "|".join(CASES), file=sys.stderr)
        sys.exit(2)
    sys.exit(make(sys.argv[2], sys.argv[3]) if sys.argv[1] == "make" else check(sys.argv[2], sys.argv[3]))
