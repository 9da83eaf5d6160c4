#!/usr/bin/python3
"""layers.py — LeNet-5's train step layer by layer, from a perf profile
(bench/layers.sh runs it; a table in Markdown on stdout).

Usage: layers.py PERF_REPORT HARNESS_OUTPUT EMIT_REPORT BATCH PEAK_GFLOPS

PERF_REPORT is `perf report --stdio --sort symbol -q` of bench/harness.c
built with -fno-inline-functions-called-once (so that each layer's forward
and backward stay functions of their own); the harness runs the train step,
then batch-1 inference (infer_net_*, left out here) for about as long.
HARNESS_OUTPUT gives the step's time ("train_step MEDIAN ..."), EMIT_REPORT
(`dnnc --inference --emit=report`) each layer's multiply-accumulates per
sample. A layer's FLOPs per sample: 2·MACs forward; backward 2·MACs for the
weight gradient plus 2·MACs for the input gradient (none for the first
layer, whose input needs none).
"""
import re
import sys


def shares(path):
    """{symbol: percent} of the train_net_* functions."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*([\d.]+)%\s+\[\.\]\s+(train_net_\S+)", line)
            if m:
                name = m.group(2).split(".")[0]  # without .part.0, .constprop.0
                out[name] = out.get(name, 0.0) + float(m.group(1))
    return out


def macs(path):
    """{layer: (op, MACs per sample)} of the report's conv2d and dense rows ("features.3..features.5" -> features_3)."""
    out = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 7 and (fields[1].startswith("conv2d") or fields[1] == "dense"):
                out[fields[0].split("..")[0].replace(".", "_")] = (fields[1].split("+")[0],
                                                                     int(fields[-1].replace(",", "")))
    return out


# A pass's functions: the step itself, and the range functions it hands to
# the thread pool (dnnc's NAME_LAYER_{forward,dinp,dweight}_part).
PASSES = {"forward": ("{op}_forward", "forward_part"),
          "backward": ("{op}_backward", "dinp_part", "dweight_part")}


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__.split("\n\n")[1])
    share, mac = shares(argv[1]), macs(argv[3])
    batch, peak = int(argv[4]), float(argv[5])
    step = next(float(line.split()[1]) for line in open(argv[2]) if line.startswith("train_step "))
    total = sum(share.values())
    first = min(mac, key=lambda layer: list(mac).index(layer))
    print("| layer | pass | share of the step | µs per step | GFLOP/s | % of peak |")
    print("|---|---|--:|--:|--:|--:|")
    counted = 0.0
    for layer, (op, m) in mac.items():
        for kind, flops in (("forward", 2 * m), ("backward", (2 if layer == first else 4) * m)):
            s = sum(share.get(f"train_net_{layer}_{f.format(op=op)}", 0.0) for f in PASSES[kind])
            counted += s
            seconds = step * s / total
            gflops = flops * batch / seconds * 1e-9 if seconds else 0.0
            print(f"| {layer.replace('_', '.')} {op} | {kind} | {100 * s / total:.1f}% | {seconds * 1e6:.0f} "
                  f"| {gflops:.1f} | {100 * gflops / peak:.0f}% |")
    layer_fn = r"_((conv2d|dense)_(forward|backward)|forward_part|dinp_part|dweight_part)$"
    rest = sorted(((v, k) for k, v in share.items()
                   if not (re.search(layer_fn, k) and any(k.startswith(f"train_net_{layer}_") for layer in mac))),
                  reverse=True)
    named = ", ".join(f"{k[len('train_net_'):]} {100 * v / total:.1f}%" for v, k in rest[:6])
    print(f"| the rest | pools, relus, loss, update | {100 * (total - counted) / total:.1f}% "
          f"| {step * (total - counted) / total * 1e6:.0f} | | |")
    print()
    print(f"Step {step * 1e6:.0f} µs (the profile build, median of 11); the rest, largest first: {named}.")


if __name__ == "__main__":
    main(sys.argv)
