"""models.py — float models in eager-quantization form for the int8 checks:
Chain (QuantStub, layers, DeQuantStub), Residual (a FloatFunctional add of
two branches), one small model per quantized op and the four stacks of the
issue (MLP 784-128-64-10, LeNet-5, a residual block, a depthwise-separable
block with batchnorms). CASES maps a case name to (builder, input shape).
"""
import torch
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub


class Chain(nn.Module):
    """quant -> layers in order -> dequant."""

    def __init__(self, *layers):
        super().__init__()
        self.quant = QuantStub()
        self.body = nn.Sequential(*layers)
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


class Residual(nn.Module):
    """skip.add(body(x), shortcut(x)); shortcut defaults to the identity."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = nn.Identity() if shortcut is None else shortcut
        self.skip = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip.add(self.body(x), self.shortcut(x))


def randomize_bn(model, gen):
    """Running statistics and affine parameters away from their defaults, so
    folding a batchnorm changes the weights."""
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            mod.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
            mod.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)
    return model


def conv_bn(cin, cout, k, stride=1, pad=0, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return layers + ([nn.ReLU()] if relu else [])


def mlp():
    return Chain(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                 nn.Linear(64, 10))


def lenet5():
    return Chain(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                 nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                 nn.Linear(84, 10))


def residual_block(c=8):
    """A ResNet basic block twice: identity shortcut, then a strided one with
    a 1x1 conv-bn shortcut; a standalone ReLU after each add."""
    same = nn.Sequential(*conv_bn(c, c, 3, pad=1), *conv_bn(c, c, 3, pad=1, relu=False))
    down = nn.Sequential(*conv_bn(c, 2 * c, 3, 2, 1), *conv_bn(2 * c, 2 * c, 3, pad=1, relu=False))
    return Chain(*conv_bn(3, c, 3, pad=1),
                 Residual(same), nn.ReLU(),
                 Residual(down, nn.Sequential(*conv_bn(c, 2 * c, 1, 2, relu=False))),
                 nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * c, 10))


def depthwise_separable(c=8):
    """MobileNet-style: depthwise 3x3-bn-relu then pointwise 1x1-bn-relu,
    twice (the second depthwise strided), global average pool, classifier."""
    return Chain(*conv_bn(3, c, 3, 2, 1),
                 *conv_bn(c, c, 3, pad=1, groups=c), *conv_bn(c, 2 * c, 1),
                 *conv_bn(2 * c, 2 * c, 3, 2, 1, groups=2 * c), *conv_bn(2 * c, 4 * c, 1),
                 nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * c, 10))


def big_accumulator():
    """Positive weights on a wide layer: int32 accumulators beyond 2**24, where
    converting them to float rounds (requantize's first rounding)."""
    model = Chain(nn.ReLU(), nn.Linear(16384, 4))
    model.body[1].weight.data.uniform_(0.9, 1.0)
    return model


def zero_channel():
    """An all-zero weight row: its scale is the observers' eps (2**-23), so
    its bias quantizes far beyond int32 and saturates."""
    model = Chain(nn.Linear(16, 6))
    model.body[0].weight.data[2] = 0.0
    model.body[0].bias.data[2] = 0.75
    return model


# name -> (builder, per-sample input shape)
CASES = {
    "linear": (lambda: Chain(nn.Linear(64, 32)), (64,)),
    "linear_relu": (lambda: Chain(nn.Linear(64, 32), nn.ReLU()), (64,)),
    "linear_nobias": (lambda: Chain(nn.Linear(48, 20, bias=False)), (48,)),
    "conv3x3": (lambda: Chain(nn.Conv2d(3, 8, 3, padding=1)), (3, 12, 12)),
    "conv3x3_relu": (lambda: Chain(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), (3, 12, 12)),
    "conv5x5_s2": (lambda: Chain(nn.Conv2d(4, 6, 5, stride=2, padding=2)), (4, 13, 13)),
    "conv1x1": (lambda: Chain(nn.Conv2d(16, 12, 1)), (16, 6, 6)),
    "conv_rect": (lambda: Chain(nn.Conv2d(3, 5, (2, 5), stride=(2, 1), padding=(0, 2))),
                  (3, 9, 11)),
    "conv_1x3": (lambda: Chain(nn.Conv2d(4, 4, (1, 3), padding=(0, 1))), (4, 7, 7)),
    "conv_dilated": (lambda: Chain(nn.Conv2d(3, 4, 3, padding=2, dilation=2)), (3, 10, 10)),
    "conv_groups2": (lambda: Chain(nn.Conv2d(8, 6, 3, padding=1, groups=2)), (8, 8, 8)),
    "dwconv3x3": (lambda: Chain(nn.Conv2d(8, 8, 3, padding=1, groups=8)), (8, 9, 9)),
    "dwconv3x3_s2": (lambda: Chain(nn.Conv2d(12, 12, 3, stride=2, padding=1, groups=12)),
                     (12, 9, 9)),
    "dwconv5x5": (lambda: Chain(nn.Conv2d(10, 10, 5, padding=2, groups=10)), (10, 9, 9)),
    "dwconv7x7": (lambda: Chain(nn.Conv2d(8, 8, 7, padding=3, groups=8)), (8, 9, 9)),
    "dwconv_mult2": (lambda: Chain(nn.Conv2d(4, 8, 3, padding=1, groups=4)), (4, 8, 8)),
    "conv_bn": (lambda: Chain(*conv_bn(3, 8, 3, pad=1, relu=False)), (3, 10, 10)),
    "conv_bn_relu": (lambda: Chain(*conv_bn(3, 8, 3, pad=1)), (3, 10, 10)),
    "relu": (lambda: Chain(nn.ReLU()), (3, 5, 5)),
    "maxpool2": (lambda: Chain(nn.MaxPool2d(2)), (4, 8, 8)),
    "maxpool3_s2_p1": (lambda: Chain(nn.MaxPool2d(3, 2, 1)), (3, 9, 9)),
    "maxpool_rect": (lambda: Chain(nn.MaxPool2d((2, 3), (1, 2))), (2, 7, 9)),
    "avgpool2": (lambda: Chain(nn.AvgPool2d(2)), (4, 8, 8)),
    "avgpool3_p1": (lambda: Chain(nn.AvgPool2d(3, 1, 1)), (9, 6, 6)),
    "avgpool4_c16": (lambda: Chain(nn.AvgPool2d(4)), (16, 8, 8)),
    "avgpool_rect": (lambda: Chain(nn.AvgPool2d((2, 4), (2, 2))), (3, 6, 10)),
    "gap7x7": (lambda: Chain(nn.AdaptiveAvgPool2d(1)), (20, 7, 7)),
    "gap3x3_c3": (lambda: Chain(nn.AdaptiveAvgPool2d(1)), (3, 3, 3)),
    "gap2x2_c8": (lambda: Chain(nn.AdaptiveAvgPool2d(1)), (8, 2, 2)),
    "maxpool_dilated": (lambda: Chain(nn.MaxPool2d(3, 1, 1, dilation=2)), (2, 7, 7)),
    "avgpool_exclude_pad": (lambda: Chain(nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
                            (3, 7, 7)),
    "linear_big_acc": (big_accumulator, (16384,)),
    "linear_zero_row": (zero_channel, (16,)),
    "flatten": (lambda: Chain(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(75, 7)), (2, 7, 7)),
    "add": (lambda: Chain(Residual(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1))), (4, 6, 6)),
    "add_identity_relu": (lambda: Chain(Residual(nn.Conv2d(4, 4, 3, padding=1)), nn.ReLU()),
                          (4, 6, 6)),
    "mlp": (mlp, (1, 28, 28)),
    "lenet5": (lenet5, (1, 28, 28)),
    "residual": (residual_block, (3, 16, 16)),
    "depthwise_separable": (depthwise_separable, (3, 16, 16)),
}


def build(name, seed=0):
    """The float model of a case, eval mode, seeded weights and batchnorms."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    builder, shape = CASES[name]
    with torch.no_grad():
        model = randomize_bn(builder(), gen)
    return model.eval(), shape
