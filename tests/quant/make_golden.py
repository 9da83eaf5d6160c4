"""make_golden.py — the int8 golden cases of tests/quant/golden/: PyTorch
1.13's post-training static quantization (oracle.ptq, engine qnnpack) of
the float twin of each golden/CASE.dnn, written for golden.sh.

For each case, into golden/data/ (or --out DIR):

    CASE.weights.safetensors  the float weights, F32, under the .dnn's names
                              (PyTorch's state_dict names: language.md §5)
    CASE.calib.safetensors    the calibration set: F32 [N, input shape...]
                              named after the .dnn's input
    CASE.golden.safetensors   input     F32 [n, input shape...]: the test samples
                              expected  F32 [n, output size]: the int8 model's
                                        float output (PyTorch's, softmax applied
                                        when the .dnn's output is a softmax)
                              tolerance F32 [n, output size]: one quantization
                                        step of the output (through the softmax
                                        for those: |Δp| <= p·(e^(2·step) − 1))
                              step      F32 []: the output's scale
                              q.NAME    the quantized tensors of the dump
                                        (oracle.dump) under the .dnn's names:
                                        P.weight I8, P.bias I32 (bias_q),
                                        P.weight_scale F32 [F], and the
                                        activations' V.scale F32 [] and
                                        V.zero_point I32 [] (V: the input,
                                        each layer P, an add's value)

Also bad_name.calib.safetensors (no tensor named x) and
bad_shape.calib.safetensors (x [4, 63]), which dnnc must refuse for
golden/linear.dnn.

Deterministic: seeded weights (models.build), seeded data; the same bytes on
every run. `make_golden.py` writes the committed cases; `make_golden.py
--out DIR mlp lenet5` the two big ones (models/mlp.dnn and models/lenet5.dnn,
~1 MB of weights), which golden.sh writes at test time when torch is there.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import models  # noqa: E402
import oracle  # noqa: E402
import twins  # noqa: E402

twins._DTYPES.update({np.dtype("i1"): "I8", np.dtype("u1"): "U8"})

ROOT = os.path.join(HERE, "..", "..")
CALIB = 48      # calibration samples (each case < 200 KB)
SAMPLES = 6     # test samples


def pooled(pool, cin=4, cout=4):
    """A conv then a pooling: dnnc compiles no model without parameters."""
    return lambda: models.Chain(nn.Conv2d(cin, cout, 3, padding=1), pool)


# case -> (.dnn path, models.CASES name or (builder, input shape), input name,
#          {PyTorch module prefix: .dnn prefix} for the names that differ, softmax output)
EXTRA = {
    "maxpool": (pooled(nn.MaxPool2d(2)), (4, 8, 8)),
    "avgpool": (pooled(nn.AvgPool2d(2)), (4, 8, 8)),
    "global_avgpool": (pooled(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), 8, 20), (8, 7, 7)),
}
SMALL = ["linear", "linear_relu", "conv3x3", "conv3x3_relu", "conv1x1", "dwconv3x3", "conv_bn_relu",
         "maxpool", "avgpool", "global_avgpool", "add", "residual", "depthwise_separable"]
BIG = {  # the models/ files, their layers renamed
    "mlp": ("image", {"body.1": "logits.1", "body.3": "logits.3", "body.5": "logits.5"}),
    "lenet5": ("image", {"body.0": "features.0", "body.3": "features.3", "body.7": "classifier.1",
                         "body.9": "classifier.3", "body.11": "classifier.5"}),
}
RENAME = {"add": {"body.0.body": "main", "body.0.shortcut": "shortcut", "body.0.skip": "body"},
          "residual": {"body.0": "stem.0", "body.1": "stem.1", "body.3.body": "b1", "body.3.skip": "a1",
                       "body.5.body": "b2", "body.5.shortcut": "s2", "body.5.skip": "a2", "body.9": "body.1"},
          "depthwise_separable": {"body": "features", "body.17": "body.1"}}


def dnn_path(case):
    return os.path.join(ROOT, "models", case + ".dnn") if case in BIG else os.path.join(HERE, "golden", case + ".dnn")


def build(case):
    """The seeded float model of a case and its per-sample input shape."""
    if case in EXTRA:
        builder, shape = EXTRA[case]
        models.CASES.setdefault(case, (builder, shape))
    return models.build(case)


def renamer(case):
    """PyTorch module name -> the .dnn's name (None: not stored)."""
    table = dict(BIG[case][1]) if case in BIG else dict(RENAME.get(case, {}))
    table["quant"] = BIG[case][0] if case in BIG else "x"

    def rename(name):
        for prefix in sorted(table, key=len, reverse=True):
            if name == prefix or name.startswith(prefix + "."):
                return table[prefix] + name[len(prefix):]
        return name
    return rename


def float_weights(model, rename):
    """The float state_dict under the .dnn's names (batchnorm's counter left
    out: dnnc does not need it)."""
    return [(rename(k), v.detach().numpy().astype(np.float32))
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def quantized(dump, qmodel, rename):
    """The dump's stored tensors: each Linear/Conv2d's weight, bias_q and
    weight scales, and the scale and zero point of every activation a
    layer, the input's quantization or an add produces."""
    out = []
    weighted = {n for n, m in qmodel.named_modules() if isinstance(m, oracle._WEIGHTED)}
    adds = {n for n, m in qmodel.named_modules() if isinstance(m, torch.ao.nn.quantized.QFunctional)}
    for name in sorted(weighted):
        p = rename(name)
        out += [(p + ".weight", dump[name + ".weight"]), (p + ".bias", dump[name + ".bias_q"]),
                (p + ".weight_scale", dump[name + ".weight_scale"])]
    for name in sorted(weighted | adds | {"quant"}):
        out += [(rename(name) + ".scale", np.float32(dump[name + ".scale"])),
                (rename(name) + ".zero_point", np.int32(dump[name + ".zero_point"]))]
    return [("q." + k, np.asarray(v)) for k, v in out]


def make(case, out_dir):
    model, shape = build(case)
    rename = renamer(case)
    gen = torch.Generator().manual_seed(20)
    calib = torch.randn(CALIB, *shape, generator=gen)
    x = torch.randn(SAMPLES, *shape, generator=gen)
    qmodel, _ = oracle.ptq(model, calib)
    dump = oracle.dump(qmodel, x)
    y = torch.from_numpy(dump["output"]).reshape(SAMPLES, -1)
    step = np.float32(dump["dequant.in.scale"])
    if case in BIG:  # the .dnn's output is softmax(logits), computed in float after the dequantization
        expected = torch.softmax(y, dim=1)
        tolerance = expected * float(np.expm1(2 * np.float64(step))) + 1e-6
    else:
        expected = y
        tolerance = torch.full_like(y, float(step) * 1.0001) + y.abs() * 1e-6
    name = BIG[case][0] if case in BIG else "x"
    base = os.path.join(out_dir, case)
    twins.write_safetensors(base + ".weights.safetensors", float_weights(model, rename))
    twins.write_safetensors(base + ".calib.safetensors", [(name, calib.numpy())])
    twins.write_safetensors(base + ".golden.safetensors",
                            [("input", x.numpy()), ("expected", expected.numpy().astype(np.float32)),
                             ("tolerance", tolerance.numpy().astype(np.float32)), ("step", step)]
                            + quantized(dump, qmodel, rename))


def bad_calibrations(out_dir):
    """Two calibration sets dnnc must refuse for golden/linear.dnn (input x[64]):
    one without x (its tensor has another name), one with x of the wrong shape."""
    gen = torch.Generator().manual_seed(21)
    twins.write_safetensors(os.path.join(out_dir, "bad_name.calib.safetensors"),
                            [("images", torch.randn(4, 64, generator=gen).numpy())])
    twins.write_safetensors(os.path.join(out_dir, "bad_shape.calib.safetensors"),
                            [("x", torch.randn(4, 63, generator=gen).numpy())])


def main(argv):
    out_dir = os.path.join(HERE, "golden", "data")
    if argv[:1] == ["--out"]:
        out_dir, argv = argv[1], argv[2:]
    cases = argv or SMALL
    for case in cases:
        if case not in SMALL and case not in BIG:
            print("make_golden.py: error: no case '%s'; cases: %s" % (case, " ".join(SMALL + list(BIG))),
                  file=sys.stderr)
            return 2
    os.makedirs(out_dir, exist_ok=True)
    for case in cases:
        make(case, out_dir)
    if not argv:
        bad_calibrations(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
