#!/usr/bin/python3
"""export.py — a PyTorch twin as ONNX for onnx2c, with one input sample and
PyTorch's output for it as a C header, so that the firmware built from
onnx2c's code can check its own result.

Usage: /usr/bin/python3 bench/onnx2c/export.py NAME OUTDIR [--weights W] [--golden G] [--opset N] [--logits]
                                                [--dnnc]

NAME is lenet5 or mlp (models/*.dnn; twins from examples/fashion/reference.py)
or ds_cnn, vww, resnet8, autoencoder (bench/mlperf/twins.py). Writes
OUTDIR/NAME.onnx (batch 1, eval mode: dropout gone, batchnorm folded into
the convolutions by the exporter; a softmax after the classifiers, whose
.dnn output is the probabilities, unless --logits) and OUTDIR/NAME_io.h (ICOUNT_INPUT,
ICOUNT_EXPECTED and their sizes, as exact hex floats).

--weights W.safetensors loads dnnc's weights (the firmware's), so both
compilers run the same network; --golden G.safetensors (dnnc's predict
--out) takes the first stored input, the sample dnnc's self-test checks
first, and fails unless PyTorch's output equals the stored one within
1e-5. Without them the weights are PyTorch's default initialisation from
seed 0, batchnorm's statistics and affine parameters are drawn too (so it
is no identity), and the input is seeded noise.

--dnnc (MLPerf networks) also writes what dnnc needs to build the same
network with the same weights and check it on the device: OUTDIR/NAME.safetensors
(the state_dict: F32, batchnorm's counters I64) and OUTDIR/NAME.golden.safetensors
(4 samples, the first the header's, under the draft's input and output
names, for dnnc --emit=selftest --golden).
"""
import argparse
import importlib.util
import os
import sys
import warnings

import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "fashion"))
sys.path.insert(0, os.path.join(ROOT, "bench", "mlperf"))
import reference  # noqa: E402  (mlp(), lenet5(), load_safetensors())
import twins  # noqa: E402

FASHION = {"lenet5": reference.lenet5, "mlp": reference.mlp}


def write_safetensors(path, tensors):
    """tests/golden/twins.py's writer (that module is also called twins)."""
    spec = importlib.util.spec_from_file_location("golden_twins", os.path.join(ROOT, "tests", "golden", "twins.py"))
    golden_twins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden_twins)
    golden_twins.write_safetensors(path, tensors)


def build(name):
    """(network, per-sample input shape, whether it classifies)"""
    if name in FASHION:
        return FASHION[name]()[0], (1, 28, 28), True
    net = twins.NETWORKS[name]()
    return net, net.INPUT, net.CLASSES > 0


class PaddedConv(torch.autograd.Function):
    """F.pad then a convolution, exported as one ONNX Conv with asymmetric
    pads (what a TensorFlow converter writes for padding='same'), not as a
    Pad whose pads are computed by a chain of ops that onnx2c cannot cast."""

    @staticmethod
    def forward(ctx, x, weight, bias, kernel, stride, pads, groups):
        return F.conv2d(F.pad(x, pads), weight, bias, stride, 0, 1, groups)

    @staticmethod
    def symbolic(g, x, weight, bias, kernel, stride, pads, groups):
        left, right, top, bottom = pads
        return g.op("Conv", x, weight, bias, kernel_shape_i=list(kernel), strides_i=list(stride),
                    pads_i=[top, left, bottom, right], group_i=groups)


def padded_forward(conv):
    return lambda x: PaddedConv.apply(x, conv.weight, conv.bias, conv.kernel_size, conv.stride, conv.pads, conv.groups)


def randomise_batchnorm(net, gen):
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def c_array(name, values):
    rows = [", ".join(float.hex(v) + "f" for v in values[i:i + 6])
            for i in range(0, len(values), 6)]
    return f"static const float {name}[{len(values)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def main():
    ap = argparse.ArgumentParser(description="a twin as ONNX, with an input and PyTorch's output as a C header")
    ap.add_argument("name", choices=list(FASHION) + list(twins.NETWORKS))
    ap.add_argument("outdir")
    ap.add_argument("--weights", help="dnnc's weights (safetensors) for lenet5 or mlp")
    ap.add_argument("--golden", help="dnnc's golden file: its first input, and the output to match")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--logits", action="store_true", help="no softmax after a classifier")
    ap.add_argument("--dnnc", action="store_true", help="also the weights and a golden file for dnnc")
    args = ap.parse_args()

    torch.manual_seed(0)
    net, shape, classifies = build(args.name)
    gen = torch.Generator().manual_seed(1)
    if args.weights:
        net.load_state_dict(reference.load_safetensors(args.weights))
    else:
        randomise_batchnorm(net, gen)
    for m in net.modules():
        if isinstance(m, twins.Conv2dSame) and m.pads is not None:
            m.forward = padded_forward(m)
    model = nn.Sequential(net, nn.Softmax(dim=1)) if classifies and not args.logits else net
    model.eval()

    x = torch.randn(1, *shape, generator=gen)
    golden = reference.load_safetensors(args.golden) if args.golden else None
    if golden is not None:
        inputs = [t for t in golden.values() if tuple(t.shape[1:]) == tuple(shape)]
        outputs = [t for t in golden.values() if tuple(t.shape[1:]) != tuple(shape)]
        if len(golden) != 2 or len(inputs) != 1:
            sys.exit(f"export.py: error: {args.golden} should hold one input {list(shape)} and one output per sample")
        x, outputs = inputs[0][:1].reshape(1, *shape), outputs[0]
    with torch.no_grad():
        y = model(x)
        probs = torch.softmax(net(x), dim=1) if classifies else y
    if golden is not None:
        worst = (probs.flatten() - outputs[0].flatten()).abs().max().item()
        if worst > 1e-5:
            sys.exit(f"export.py: error: PyTorch's output differs from {args.golden} by {worst:g} (limit 1e-5): "
                     "are the weights the ones the golden file was made with?")

    os.makedirs(args.outdir, exist_ok=True)
    onnx_path = os.path.join(args.outdir, f"{args.name}.onnx")
    warnings.filterwarnings("ignore", "'torch.onnx._patch_torch._graph_op' is deprecated")  # g.op in symbolic
    torch.onnx.export(model, x, onnx_path, opset_version=args.opset, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)
    with open(os.path.join(args.outdir, f"{args.name}_io.h"), "w") as f:
        f.write(f"/* {args.name}_io.h — written by bench/onnx2c/export.py: one input and PyTorch's output */\n")
        f.write(f"#define ICOUNT_INPUT_SIZE {x.numel()}\n#define ICOUNT_OUTPUT_SIZE {y.numel()}\n")
        f.write(c_array("ICOUNT_INPUT", x.flatten().tolist()))
        f.write(c_array("ICOUNT_EXPECTED", y.flatten().tolist()))
    if args.dnnc:
        if args.name in FASHION:
            sys.exit("export.py: error: --dnnc is for the MLPerf networks (lenet5 and mlp come from dnnc)")
        write_safetensors(os.path.join(args.outdir, f"{args.name}.safetensors"),
                          [(k, v.numpy().astype("int64" if k.endswith("num_batches_tracked") else "float32"))
                           for k, v in net.state_dict().items()])
        xs = torch.cat([x, torch.randn(3, *shape, generator=gen)])
        with torch.no_grad():
            ys = model(xs)
        names = twins.NETWORKS[args.name].IO
        write_safetensors(os.path.join(args.outdir, f"{args.name}.golden.safetensors"),
                          [(names[0], xs.numpy()), (names[1], ys.numpy())])
    print(f"{onnx_path}: {sum(p.numel() for p in net.parameters()):,} parameters, input {list(shape)}, "
          f"output {list(y.shape[1:])}" + (f", matches {args.golden}" if golden is not None else ""))


if __name__ == "__main__":
    main()
