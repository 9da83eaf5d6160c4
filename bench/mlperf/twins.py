#!/usr/bin/python3
"""twins.py — PyTorch twins of the four MLPerf Tiny reference networks.

Source: mlcommons/tiny, tag v1.1, benchmark/training/ (TensorFlow 2.3/2.4
Keras): keyword_spotting/keras_model.py (ds_cnn, input from kws_util.py's
defaults), visual_wake_words/vww_model.py, image_classification/
keras_model.py (resnet_v1_eembc), anomaly_detection/keras_model.py (input
dimension from baseline.yaml: n_mels 128 x frames 5). Each twin computes
what its Keras model computes in inference, layer for layer, with the same
trainable parameter count; its module names are the statement names of
models/FILE.dnn (FILES below), so its state_dict keys are the ones dnnc
gives those models (checked below).

Usage: /usr/bin/python3 bench/mlperf/twins.py [NAME...]
prints each network's layer table and parameter count, checks the count
against the reference figure and the keys against the model (and
Conv2dSame against PyTorch's padding='same'), and exits 1 loudly on any
difference.

The mapping to a .dnn (language.md §5): each nn.Sequential attribute is
one pipe statement `NAME = src |> s0 |> s1 ...;` whose stage i is NAME.i,
activations, dropout, pooling and flatten counting as stages like any
other (`ds1.3.weight` is ds1's pointwise conv: stage 3 after the
depthwise conv, its batchnorm and its relu); a module that is one layer
(ResNet-8's skip2) is a statement holding one parameterised call
(`skip2 = conv2d(out1, ...)`: keys skip2.weight, skip2.bias); what forward()
adds without parameters (ResNet-8's `out1 = relu(stem + res1)`) is a
statement of its own. Batchnorm's buffers (running_mean, running_var,
num_batches_tracked) are keys too, as dnnc saves them.

Layout. Keras is channels-last, PyTorch channels-first: an input [H, W, C]
is [C, H, W] here (KWS's 49x10x1 MFCC is [1, 49, 10]). Weights convert as
Conv2D kernel [kh, kw, in, out] -> [out, in, kh, kw] (permute 3, 2, 0, 1),
DepthwiseConv2D [kh, kw, C, 1] -> [C, 1, kh, kw] (permute 2, 3, 0, 1),
Dense [in, out] -> [out, in] (transpose). Every flatten here follows a
pooling to 1x1 (or there is none), so no flatten reorders features.

Details that hold for all four:
- Every convolution and dense layer has a bias (Keras' use_bias=True
  default; no layer sets it off), initialised to zeros.
- BatchNormalization: Keras eps 1e-3, momentum 0.99 (running = 0.99 *
  running + 0.01 * batch), i.e. PyTorch eps=1e-3, momentum=0.01; gamma 1,
  beta 0, moving mean 0, variance 1. gamma and beta are the trainable
  parameters counted. Keras' fused kernel (4-D inputs) updates the moving
  variance with the unbiased batch variance, as PyTorch does; its non-fused
  path (2-D inputs: the autoencoder) uses the biased one, which differs by
  n/(n-1) from PyTorch's (0.2% at batch 512).
- padding='same' is TensorFlow's: total max((ceil(in/s) - 1) * s + k - in, 0)
  per axis, the odd one at the bottom/right. With stride 2 on an even size
  and k = 3 that is 0 before and 1 after, which no PyTorch Conv2d padding
  gives: Conv2dSame pads with F.pad first (and uses the convolution's own
  padding when the padding is symmetric).
- The Keras models end in Dense(activation='softmax') and train with a
  cross-entropy on those probabilities (clipped at 1e-7); the twins return
  logits, and cross_entropy(logits) equals it up to that clip.
- Optimizer: Keras Adam (beta 0.9, 0.999, epsilon 1e-7) applies epsilon
  after the bias correction (lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);
  w -= lr_t m / (sqrt(v) + eps)), which is PyTorch's Adam with eps scaled by
  sqrt(1 - b2^t): not exactly torch.optim.Adam(eps=1e-7).
- DepthwiseConv2D(kernel_initializer=..., kernel_regularizer=...) ignores
  both: its kernel uses depthwise_initializer (default glorot_uniform) and
  depthwise_regularizer (default none); kernel_* go to Conv2D's fields,
  which the depthwise layer never reads. So in DS-CNN and MobileNet the
  depthwise kernels are glorot_uniform and unregularised, whatever the
  Keras code seems to say.
- Keras l2(c) adds c * sum(w^2) to the loss: dnnc's `c * l2(NAME.weight)`.

Per network (what the .dnn drafts must carry besides the architecture):
- DS-CNN (kws): init glorot_uniform everywhere (dnnc xavier_uniform);
  l2(1e-4) on the first conv and the pointwise convs (not the depthwise,
  not the dense); dropout 0.2 after the first block, 0.4 before the pool;
  the pool is AveragePooling2D((24, 5)) = (int(49/2), int(10/2)) on the
  25x5 map, so the last row is dropped; Adam, lr 5e-4 for epochs 0-11,
  1e-4 for 12-23, 2e-5 for 24-35 (= step(every = 12, gamma = 0.2)), 36
  epochs, batch 100; sparse categorical cross-entropy, 12 classes.
- MobileNetV1 x0.25 (vww): ReLU, not ReLU6 (the Keras file says so); conv
  kernels he_normal, i.e. a normal truncated at 2 sigma with std
  sqrt(2/fan_in)/0.87962566 (dnnc `he` is an untruncated normal); the
  depthwise kernels and the dense glorot_uniform; l2(1e-4) on the first and
  the pointwise convs; AveragePooling2D((3, 3)) on 3x3 (= global average);
  inputs scaled by 1/255; Adam 20 epochs at 1e-3, 10 at 5e-4, 20 at
  2.5e-4, each phase a fresh model.compile (fresh Adam moments); batch 32;
  categorical cross-entropy, 2 classes.
- ResNet-8 (ic): every kernel he_normal (truncated, as above), the dense
  too; l2(1e-4) on every conv including the 1x1 shortcuts, not the dense;
  no batchnorm on the shortcuts; raw 0..255 inputs (the ImageDataGenerator
  has no rescale) with rotation, shift and flip augmentation; Adam with lr
  1e-3 * 0.99^epoch (dnnc exponential(k = -ln 0.99)), 500 epochs, batch 32;
  categorical cross-entropy, 10 classes.
- FC autoencoder (ad): Dense glorot_uniform, no regularizer; MSE between
  the output and the input itself; Adam lr 1e-3, 100 epochs, batch 512,
  shuffled, validation split 0.1.
"""
import math
import os
import re
import sys
import warnings
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
BN = dict(eps=1e-3, momentum=0.01)  # Keras BatchNormalization's defaults in PyTorch's terms


def same_pads(size, kernel, stride):
    """TensorFlow's padding='same' on one axis: (before, after)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TensorFlow's padding='same' for an input of height and
    width hw (with a bias, as Keras). Asymmetric padding is an F.pad before
    the convolution; the keys stay weight and bias."""

    def __init__(self, cin, cout, kernel, hw, stride=1, groups=1):
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        (top, bottom), (left, right) = same_pads(hw[0], kh, stride), same_pads(hw[1], kw, stride)
        symmetric = top == bottom and left == right
        super().__init__(cin, cout, (kh, kw), stride, padding=(top, left) if symmetric else 0, groups=groups)
        self.pads = None if symmetric else (left, right, top, bottom)
        self.out_hw = ((hw[0] + top + bottom - kh) // stride + 1, (hw[1] + left + right - kw) // stride + 1)

    def forward(self, x):
        return super().forward(x if self.pads is None else F.pad(x, self.pads))


def conv_bn_relu(cin, cout, kernel, hw, stride=1, groups=1):
    """conv2d(pad = same) |> batchnorm |> relu: three stages, and the output size."""
    conv = Conv2dSame(cin, cout, kernel, hw, stride, groups)
    return [conv, nn.BatchNorm2d(cout, **BN), nn.ReLU()], conv.out_hw


def separable(channels, filters, hw, stride=1):
    """A depthwise 3x3 and a pointwise 1x1, each with batchnorm and ReLU (6 stages)."""
    depthwise, hw = conv_bn_relu(channels, channels, 3, hw, stride, groups=channels)
    pointwise, hw = conv_bn_relu(channels, filters, 1, hw)
    return nn.Sequential(*depthwise, *pointwise), hw


class DsCnn(nn.Module):
    """Keyword spotting: DS-CNN, 49x10 MFCC -> 12 classes."""
    NAME, INPUT, REFERENCE, CLASSES = "ds_cnn", (1, 49, 10), 23756, 12
    IO = ("mfcc", "probs")  # the .dnn draft's input and output names

    def __init__(self):
        super().__init__()
        stem, hw = conv_bn_relu(1, 64, (10, 4), self.INPUT[1:], stride=2)
        self.stem = nn.Sequential(*stem, nn.Dropout(0.2))
        for i in range(1, 5):
            block, hw = separable(64, 64, hw)
            setattr(self, f"ds{i}", block)
        assert hw == (25, 5), hw
        # AveragePooling2D((24, 5)) on 25x5: floor mode drops the 25th row
        self.logits = nn.Sequential(nn.Dropout(0.4), nn.AvgPool2d((24, 5)), nn.Flatten(), nn.Linear(64, 12))

    def forward(self, x):
        return self.logits(self.ds4(self.ds3(self.ds2(self.ds1(self.stem(x))))))


class MobileNetV1(nn.Module):
    """Visual wake words: MobileNetV1 with width 0.25, 96x96 RGB -> 2 classes."""
    NAME, INPUT, REFERENCE, CLASSES = "vww", (3, 96, 96), 216322, 2
    IO = ("image", "probs")  # the .dnn draft's input and output names
    BLOCKS = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]

    def __init__(self):
        super().__init__()
        stem, hw = conv_bn_relu(3, 8, 3, self.INPUT[1:], stride=2)
        self.stem = nn.Sequential(*stem)
        channels = 8
        for i, (filters, stride) in enumerate(self.BLOCKS, 1):
            block, hw = separable(channels, filters, hw, stride)
            setattr(self, f"ds{i}", block)
            channels = filters
        assert hw == (3, 3), hw
        self.logits = nn.Sequential(nn.AvgPool2d(3), nn.Flatten(), nn.Linear(256, 2))

    def forward(self, x):
        x = self.stem(x)
        for i in range(1, len(self.BLOCKS) + 1):
            x = getattr(self, f"ds{i}")(x)
        return self.logits(x)


class ResNet8(nn.Module):
    """Image classification: the EEMBC ResNet-8 (ResNet v1), 32x32 RGB -> 10 classes."""
    NAME, INPUT, REFERENCE, CLASSES = "resnet8", (3, 32, 32), 78186, 10
    IO = ("image", "probs")  # the .dnn draft's input and output names

    def __init__(self):
        super().__init__()
        stem, hw = conv_bn_relu(3, 16, 3, self.INPUT[1:])
        self.stem = nn.Sequential(*stem)
        channels = 16
        for i, (filters, stride) in enumerate([(16, 1), (32, 2), (64, 2)], 1):
            first, out_hw = conv_bn_relu(channels, filters, 3, hw, stride)
            second, out_hw = conv_bn_relu(filters, filters, 3, out_hw)
            setattr(self, f"res{i}", nn.Sequential(*first, *second[:2]))  # no ReLU before the sum
            if stride != 1:  # a 1x1 convolution with the same stride, no batchnorm
                skip = Conv2dSame(channels, filters, 1, hw, stride)
                assert skip.out_hw == out_hw
                setattr(self, f"skip{i}", skip)
            channels, hw = filters, out_hw
        assert hw == (8, 8), hw
        self.logits = nn.Sequential(nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        stem = self.stem(x)
        out1 = F.relu(stem + self.res1(stem))
        out2 = F.relu(self.skip2(out1) + self.res2(out1))
        out3 = F.relu(self.skip3(out2) + self.res3(out2))
        return self.logits(out3)


class AutoEncoder(nn.Module):
    """Anomaly detection: the fully connected autoencoder, 640 -> 8 -> 640."""
    NAME, INPUT, REFERENCE, CLASSES = "autoencoder", (640,), 267928, 0
    IO = ("x", "decoder")  # the .dnn draft's input and output names

    def __init__(self):
        super().__init__()

        def dense_bn_relu(n_in, n_out):
            return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out, **BN), nn.ReLU()]

        self.encoder = nn.Sequential(*dense_bn_relu(640, 128), *dense_bn_relu(128, 128), *dense_bn_relu(128, 128),
                                     *dense_bn_relu(128, 128), *dense_bn_relu(128, 8))
        self.decoder = nn.Sequential(*dense_bn_relu(8, 128), *dense_bn_relu(128, 128), *dense_bn_relu(128, 128),
                                     *dense_bn_relu(128, 128), nn.Linear(128, 640))

    def forward(self, x):
        return self.decoder(self.encoder(x))


NETWORKS = OrderedDict((net.NAME, net) for net in (DsCnn, MobileNetV1, ResNet8, AutoEncoder))
# each network's .dnn in models/
FILES = {"ds_cnn": "ds_cnn", "vww": "mobilenet_v1_025", "resnet8": "resnet8", "autoencoder": "fc_autoencoder"}


def trainable(net):
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def describe(m):
    """A layer in a few words, as the .dnn says it."""
    if isinstance(m, nn.Conv2d):
        kind = "depthwise" if m.groups > 1 else "conv"
        text = f"{kind} {m.in_channels}->{m.out_channels} {m.kernel_size[0]}x{m.kernel_size[1]}"
        text += f" stride {m.stride[0]}" if m.stride[0] > 1 else ""
        if isinstance(m, Conv2dSame):
            left, right, top, bottom = m.pads or (m.padding[1], m.padding[1], m.padding[0], m.padding[0])
            text += f" same: pad t{top} b{bottom} l{left} r{right}" + (" (F.pad)" if m.pads else "")
        return text
    if isinstance(m, nn.Linear):
        return f"dense {m.in_features}->{m.out_features}"
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"batchnorm {m.num_features} (eps {m.eps:g}, momentum {m.momentum:g})"
    if isinstance(m, nn.AvgPool2d):
        return f"avgpool {m.kernel_size}"
    if isinstance(m, nn.Dropout):
        return f"dropout {m.p:g}"
    return type(m).__name__.lower()


def layer_table(net):
    """One line per leaf module: its key, what it is, its output shape, its parameters."""
    shapes = {}

    def record(name):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape[1:])  # returns None: the output stays as it is
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in net.named_modules() if not list(m.children())]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, *net.INPUT))
    for h in hooks:
        h.remove()
    lines = [f"  {'key':<11} {'layer':<56} {'output':<14} {'params':>7}"]
    for name, m in net.named_modules():
        if not list(m.children()):
            count = sum(p.numel() for p in m.parameters())
            lines.append(f"  {name:<11} {describe(m):<56} {str(list(shapes[name])):<14} {count or '':>7}")
    return "\n".join(lines)


# ---- the keys a .dnn draft gives its parameters (language.md §5) ----
LAYERS = {"conv2d": ("weight", "bias"), "dense": ("weight", "bias"),
          "batchnorm": ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}


def stages(rhs):
    """The top-level '|>' stages of an expression (brackets respected)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(rhs):
        depth += c in "([" and 1 or c in ")]" and -1 or 0
        if depth == 0 and rhs.startswith("|>", i):
            parts.append(rhs[start:i])
            start = i + 2
    return [p.strip() for p in parts + [rhs[start:]]]


def draft_keys(path):
    """The state_dict keys dnnc gives the layers of a .dnn: NAME.i.weight for
    stage i of a pipe, NAME.weight for the one layer of a statement."""
    text = re.sub(r"#[^\n]*", "", open(path).read())
    keys = []
    for name, rhs in re.findall(r"(?m)^\s*(?:output\s+)?([A-Za-z_]\w*)\s*=\s*([^;]*);", text):
        parts = stages(rhs)
        for i, stage in enumerate(parts):
            calls = [c for c in re.findall(r"([A-Za-z_]\w*)\s*\(", stage) if c in LAYERS]
            if calls and len(parts) == 1:
                keys += [f"{name}.{k}" for k in LAYERS[calls[0]]]
            elif calls:
                keys += [f"{name}.{i - 1}.{k}" for k in LAYERS[calls[0]]]  # stage 0 is the source
    return keys


def check(name):
    """Prints the table; returns the problems found (empty when all is well)."""
    net = NETWORKS[name]()
    count = trainable(net)
    print(f"== {name} ({type(net).__name__}): input {list(net.INPUT)}")
    print(layer_table(net))
    problems = []
    verdict = "equals" if count == net.REFERENCE else "DIFFERS FROM"
    print(f"  trainable parameters: {count:,} {verdict} the reference {net.REFERENCE:,}")
    if count != net.REFERENCE:
        problems.append(f"{name}: {count:,} trainable parameters, the reference has {net.REFERENCE:,}")
    draft = os.path.join(HERE, "..", "..", "models", FILES[name] + ".dnn")
    want, have = draft_keys(draft), list(net.state_dict().keys())
    if want == have:
        print(f"  state_dict keys: the {len(have)} keys of {os.path.basename(draft)}, in order")
    else:
        missing, extra = [k for k in want if k not in have], [k for k in have if k not in want]
        problems.append(f"{name}: keys differ from {draft}: the draft's not in the twin {missing[:4]}, "
                        f"the twin's not in the draft {extra[:4]}" + ("" if missing or extra else " (order)"))
    return problems


def check_same_padding():
    """Conv2dSame against PyTorch's own padding='same' (stride 1, which also
    puts the odd pad at the bottom/right) with a 10x4 kernel on 49x10, and
    at stride 2 against that output taken every other row and column (the
    pads before are equal here: 4 and 1). Returns the problems found."""
    x = torch.randn(1, 1, 49, 10)
    same = Conv2dSame(1, 3, (10, 4), (49, 10))
    reference = nn.Conv2d(1, 3, (10, 4), padding="same")
    strided = Conv2dSame(1, 3, (10, 4), (49, 10), stride=2)
    with torch.no_grad():
        for conv in (reference, strided):
            conv.weight.copy_(same.weight)
            conv.bias.copy_(same.bias)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "padding='same' with even kernel lengths ... a zero-padded copy"
            full = reference(x)
        errors = [(same(x) - full).abs().max().item(), (strided(x) - full[:, :, ::2, ::2]).abs().max().item()]
    print(f"Conv2dSame against padding='same': largest differences {errors[0]:g} (stride 1), {errors[1]:g} (stride 2)")
    return [] if max(errors) < 1e-6 else [f"Conv2dSame differs from TensorFlow's 'same' padding by {max(errors):g}"]


def main(names):
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        sys.exit(f"twins.py: error: unknown network {unknown[0]!r}; the networks are {', '.join(NETWORKS)}")
    torch.manual_seed(0)
    problems = check_same_padding() + [p for name in names or NETWORKS for p in check(name)]
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print("\nall parameter counts equal the references; all keys match the models")


if __name__ == "__main__":
    main(sys.argv[1:])
