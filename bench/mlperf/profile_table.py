#!/usr/bin/python3
"""profile_table.py NAME REPORT.txt TRAIN_NET.c < perf-report — the per-layer
table of bench/mlperf/profile.sh: perf's samples by symbol (stdin: `perf
report --sort sym --stdio`), one row per generated layer function and pass,
beside that function's share of the step's multiply-accumulates.

The MACs come from REPORT.txt (`dnnc --emit=report`: the forward MACs per
layer); a backward pass counts twice its layer's forward MACs (the input and
the weight gradients), so the step is about 3x the forward MACs. dnnc writes
one function for layers of the same kind and sizes (DS-CNN's four depthwise
convolutions share train_net_ds4_0_conv2d_backward), named after one of
them: a row says "x4" and counts the MACs of every layer that calls it (its
call sites in TRAIN_NET.c's train_net_backward, which runs the forward pass
and then the backward one)."""
import re
import sys
from collections import defaultdict


def main():
    name, report, source = sys.argv[1:4]
    macs, ops = {}, {}
    for line in open(report):
        fields = line.split()
        if len(fields) >= 7 and fields[-1].replace(",", "").isdigit() and fields[0] != "layer":
            key = f"{fields[0].replace('.', '_')}_{fields[1]}"
            macs[key] = macs.get(key, 0) + int(fields[-1].replace(",", ""))
            ops[key] = f"{fields[0]} {fields[1]}"
    step_macs = 3 * sum(macs.values()) or 1
    body = re.search(r"\nfloat train_net_backward\(.*?\n}", open(source).read(), re.S).group(0)
    calls = defaultdict(int)  # (layer, pass) -> call sites in one step
    for key, pass_ in re.findall(r"\btrain_net_(\w+?)_(forward|backward)(?:_\d+)?\(", body):
        calls[key, pass_] += 1
    rows, other = defaultdict(float), [0.0, 0.0]
    for line in sys.stdin:
        m = re.match(r"\s*([0-9.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if not m:
            continue
        share, symbol = float(m.group(1)), m.group(2).split(".")[0]
        layer = re.match(r"train_net_(\w+?)_(forward|backward)(_\d+)?$", symbol)
        if layer and layer.group(1) in macs:
            rows[layer.group(1), layer.group(2)] += share
        else:  # penalties, updates, the harness; libc and the kernel
            other[0 if symbol.startswith("train_net_") else 1] += share
    print(f"{name}: dnnc's train step at batch 32, perf samples by generated layer function")
    print(f"{'function (layer, pass)':<34} {'time %':>7} {'MACs %':>7} {'time/MACs':>9}")
    for (key, pass_), share in sorted(rows.items(), key=lambda kv: -kv[1]):
        uses = max(calls[key, pass_], 1)
        mac_share = 100 * uses * macs[key] * (1 if pass_ == "forward" else 2) / step_macs
        ratio = f"{share / mac_share:.1f}" if mac_share else "-"
        label = f"{ops[key]} {pass_}" + (f" x{uses}" if uses > 1 else "")
        print(f"{label:<34} {share:7.1f} {mac_share:7.1f} {ratio:>9}")
    print(f"{'other generated code':<34} {other[0]:7.1f}")
    print(f"{'libc, kernel, harness':<34} {other[1]:7.1f}")


if __name__ == "__main__":
    main()
