#!/usr/bin/python3
"""report.py — the table of `make bench`, from build/bench/results.txt.

Usage: report.py RESULTS.txt  (prints Markdown: bench/README.md quotes it)

RESULTS.txt holds "KEY VALUE..." lines written by bench/run.sh: info.*
lines, the peak (GFLOP/s: median lowest highest wall-median), the timing
lines of harness.c and torch_twin.py (seconds per call: cpu-median cpu-min
cpu-max wall-median), one "dnnc.MODEL.epoch WALL CPU" line per training
program run (bench/timeit.c), one "torch.MODEL.epoch WALL CPU" and
"torch.MODEL.startup S" per PyTorch run, an accuracy line per run of each,
the memory figures, and "read.MODEL BYTES GB/s..." (peak.c --read over the
model's weights).
"""
import statistics
import sys
from collections import defaultdict

# FLOPs per sample, multiply and add counted separately (issue 8).
FLOPS = {"mlp": {"forward": 218_368, "train": 454_400}, "lenet5": {"forward": 833_040, "train": 2_263_920}}
NAMES = {"mlp": "MLP", "lenet5": "LeNet-5"}
BATCH, EPOCH_SAMPLES = 32, 60_000
# The MLPerf Tiny networks (issue 19): their train step is measured at batch 32;
# their FLOPs come from `dnnc --emit=report`'s MACs per sample.
MLPERF = {"ds_cnn": "DS-CNN", "resnet8": "ResNet-8", "mobilenet_v1_025": "MobileNetV1 x0.25",
          "fc_autoencoder": "FC autoencoder"}
STEP_GOAL = 2.0  # issue 19: train step >= 2x PyTorch (1 thread)
THREADS_GOAL = 1.4  # issue 21: an epoch on 2 threads >= 1.4x dnnc's 1-thread epoch, in wall time
ACCURACY_GOAL = 1.0  # points: ResNet-8 on Fashion-MNIST against its twin
# onnx2c, batch-1 inference on this machine, quoted from issue 8 (not measured here).
# issue 20: int8 batch-1 inference on the host (µs, and the speed-up over dnnc's float build)
INT8_GOAL = {"mlp": (1.5, 2.6), "lenet5": (5.0, None)}
ONNX2C = {"mlp": "91.7 µs; 8.6 µs with -ffast-math", "lenet5": "185 µs; 123 µs with -ffast-math"}


def read(path):
    """{key: [value-string, ...]}, a key's lines in file order."""
    values = defaultdict(list)
    with open(path) as f:
        for line in f:
            key, _, rest = line.rstrip("\n").partition(" ")
            if key:
                values[key].append(rest)
    return values


def numbers(text):
    return [float(v) for v in text.split()]


def unit(seconds):
    """The unit for a time: (name, factor)."""
    if seconds < 1e-3:
        return "µs", 1e6
    if seconds < 1:
        return "ms", 1e3
    return "s", 1


def num(x):
    """3 significant digits, without an exponent."""
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def timing(median, low, high):
    """'374 µs (367–390)': the median and the spread, in one unit."""
    name, factor = unit(median)
    return f"{num(median * factor)} {name} ({num(low * factor)}–{num(high * factor)})"


class Report:
    def __init__(self, values):
        self.v = values
        # The peak is measured at the start and at the end; the higher median is the
        # core's, a lower one means the VM's clock or host load changed meanwhile.
        self.peak2 = max(numbers(values["peak_avx2"][0])[0], numbers(values["end.peak_avx2"][0])[0])
        # With AVX-512 the dense kernels use 512-bit FMAs (DNN_V8X2), so the machine's
        # peak is the higher of the two loops (equal where 512-bit FMAs are double-pumped).
        self.peak512 = max((numbers(values[k][0])[0] for k in ("peak_avx512", "end.peak_avx512") if k in values),
                           default=0.0)
        self.peak = max(self.peak2, self.peak512)
        # MODELS= in run.sh's environment leaves some out
        self.models = [m for m in FLOPS if f"dnnc.{m}.train_step" in values]
        self.mlperf = [m for m in MLPERF if f"dnnc.{m}.train_step" in values]

    def info(self, key, default="?"):
        return self.v.get("info." + key, [default])[0]

    def micro(self, side, model, figure):
        """(median, min, max, wall median) of a harness/twin figure, CPU time."""
        return numbers(self.v[f"{side}.{model}.{figure}"][0])

    def epochs(self, side, model, key="epoch"):
        """[(wall, cpu), ...] of the epoch runs (key "threads.epoch": on several threads)."""
        return [tuple(numbers(s)) for s in self.v[f"{side}.{model}.{key}"]]

    def row(self, label, dnnc, torch, flops, onnx2c="—"):
        """A table row from (median, min, max) of each side and the FLOPs of one call."""
        gflops = flops / dnnc[0] * 1e-9
        return (f"| {label} | {timing(*dnnc[:3])} | {gflops:.2f} | {100 * gflops / self.peak:.1f}% "
                f"| {timing(*torch[:3])} | {torch[0] / dnnc[0]:.2f} | {onnx2c} |")

    def table(self):
        lines = ["| figure | dnnc | GFLOP/s | % of peak | PyTorch | PyTorch / dnnc | onnx2c (quoted from issue 8) |",
                 "|---|--:|--:|--:|--:|--:|---|"]
        for model in self.models:
            lines.append(self.row(f"{NAMES[model]} train step, batch 32", self.micro("dnnc", model, "train_step"),
                                  self.micro("torch", model, "train_step"), FLOPS[model]["train"] * BATCH))
        for model in self.models:
            lines.append(self.row(f"{NAMES[model]} inference, batch 1", self.micro("dnnc", model, "infer"),
                                  self.micro("torch", model, "infer"), FLOPS[model]["forward"], ONNX2C[model]))
        for model in self.models:
            spread = []
            for side in ("dnnc", "torch"):
                cpu = [c for _, c in self.epochs(side, model)]
                spread.append((statistics.median(cpu), min(cpu), max(cpu)))
            lines.append(self.row(f"{NAMES[model]} epoch (60,000 images)", spread[0], spread[1],
                                  FLOPS[model]["train"] * EPOCH_SAMPLES))
        return lines

    def read_floor(self):
        """Batch-1 inference against the time to read the model's weights once from cache."""
        lines = []
        for model in self.models:
            if f"read.{model}" not in self.v:
                continue
            fields = numbers(self.v[f"read.{model}"][0])
            size, rate = fields[0], fields[1]
            floor, infer = size / (rate * 1e9), self.micro("dnnc", model, "infer")[0]
            lines.append(f"- {NAMES[model]}: {size:,.0f} bytes of weights, read from cache at {rate:.1f} GB/s "
                         f"(`peak --read`, median of 11): at least {floor * 1e6:.2f} µs a call; dnnc's "
                         f"{infer * 1e6:.2f} µs runs at {100 * floor / infer:.0f}% of that rate.")
        return lines

    def accuracy(self):
        lines = ["| model | dnnc test accuracy | PyTorch test accuracy | difference |", "|---|--:|--:|--:|"]
        for model in self.models:
            acc = {side: [float(a) for a in self.v[f"{side}.{model}.accuracy"]] for side in ("dnnc", "torch")}
            shown = {side: (f"{a[0]:.2f}%" if min(a) == max(a) else f"{min(a):.2f}–{max(a):.2f}%")
                     + f" ({len(a)} run{'s' if len(a) > 1 else ''})" for side, a in acc.items()}
            diff = statistics.median(acc["dnnc"]) - statistics.median(acc["torch"])
            verdict = "within 1 point" if abs(diff) <= 1 else "**more than 1 point**"
            lines.append(f"| {NAMES[model]} | {shown['dnnc']} | {shown['torch']} | {diff:+.2f} points, {verdict} |")
        return lines

    def epoch_details(self):
        lines = ["| model | dnnc: wall / CPU per run (s) | PyTorch: wall / CPU per run (s) "
                 "| PyTorch / dnnc in wall time | PyTorch's `import torch`, not counted (s) |",
                 "|---|---|---|--:|---|"]
        for model in self.models:
            runs = {side: self.epochs(side, model) for side in ("dnnc", "torch")}
            shown = {side: ", ".join(f"{w:.1f} / {c:.1f}" for w, c in r) for side, r in runs.items()}
            wall = {side: statistics.median(w for w, _ in r) for side, r in runs.items()}
            startup = ", ".join(f"{float(s):.1f}" for s in self.v[f"torch.{model}.startup"])
            lines.append(f"| {NAMES[model]} | {shown['dnnc']} | {shown['torch']} | {wall['torch'] / wall['dnnc']:.2f} "
                         f"| {startup} |")
        return lines

    def threads_table(self):
        """Epochs on several threads against one, in wall time (issue 21)."""
        if not all(f"dnnc.{m}.threads.epoch" in self.v for m in self.models):
            return []
        n = self.info("threads")
        lines = [f"| model, epoch (60,000 images), wall time | dnnc, 1 thread | dnnc, {n} threads | speed-up 1 → {n} "
                 f"| ≥ {THREADS_GOAL:g}x | PyTorch, its default threads | PyTorch / dnnc {n} threads "
                 "| load (1 min) before the runs |", "|---|--:|--:|--:|---|--:|--:|---|"]
        for m in self.models:
            one = [w for w, _ in self.epochs("dnnc", m)]
            many = [w for w, _ in self.epochs("dnnc", m, "threads.epoch")]
            torch = [w for w, _ in self.epochs("torch", m, "threads.epoch")]
            med = [statistics.median(x) for x in (one, many, torch)]
            speedup = med[0] / med[1]
            loads = ", ".join(self.v[f"dnnc.{m}.threads.load"])
            lines.append(f"| {NAMES[m]} | {timing(med[0], min(one), max(one))} | {timing(med[1], min(many), max(many))} "
                         f"| {speedup:.2f} | {'met' if speedup >= THREADS_GOAL else '**not met**'} "
                         f"| {timing(med[2], min(torch), max(torch))} ({self.v[f'torch.{m}.threads.threads'][0]} thread{'' if self.v[f'torch.{m}.threads.threads'][0] == '1' else 's'}) "
                         f"| {med[2] / med[1]:.2f} | {loads} |")
        return lines

    def mlperf_table(self):
        """The MLPerf Tiny networks' train step at batch 32, and the memory of that build."""
        lines = ["| network, train step at batch 32 | dnnc | ≈ GFLOP/s | % of peak | PyTorch | PyTorch / dnnc "
                 f"| ≥ {STEP_GOAL:g}x | activations (B) | sizeof(model) (B) |",
                 "|---|--:|--:|--:|--:|--:|---|--:|--:|"]
        for m in self.mlperf:
            dnnc, torch = self.micro("dnnc", m, "train_step"), self.micro("torch", m, "train_step")
            # forward, input gradient and weight gradient: about 3 x 2 FLOPs per MAC
            gflops = 6 * float(self.v[f"dnnc.{m}.macs"][0]) * BATCH / dnnc[0] * 1e-9
            ratio = torch[0] / dnnc[0]
            lines.append(f"| {MLPERF[m]} | {timing(*dnnc[:3])} | {gflops:.1f} | {100 * gflops / self.peak:.1f}% "
                         f"| {timing(*torch[:3])} | {ratio:.2f} | {'met' if ratio >= STEP_GOAL else '**not met**'} "
                         f"| {int(self.v[f'dnnc.{m}.train_activations'][0]):,} "
                         f"| {int(self.v[f'dnnc.{m}.train_ram'][0]):,} |")
        return lines

    def fashion32(self):
        """ResNet-8 trained on Fashion-MNIST 32x32 by dnnc and by its twin (one or more seeds)."""
        if "dnnc.resnet8.fashion" not in self.v:
            return []
        epochs, limit = self.v["resnet8.epochs"][0], int(self.v["resnet8.limit"][0])
        wall, cpu = numbers(self.v["dnnc.resnet8.fashion"][0])
        dnnc_acc = float(self.v["dnnc.resnet8.fashion_accuracy"][0])
        seeds = sorted(k.split(".")[2] for k in self.v
                       if k.startswith("torch.resnet8.seed") and k.endswith(".accuracy"))
        runs = [(s[4:], float(self.v[f"torch.resnet8.{s}.accuracy"][0]), numbers(self.v[f"torch.resnet8.{s}.epoch"][0]))
                for s in seeds]
        samples = f"the first {limit:,}" if limit else "all 60,000"
        lines = [f"ResNet-8 trained for {epochs} epoch{'' if epochs == '1' else 's'} on {samples} Fashion-MNIST "
                 "training images (padded to 32x32, repeated to 3 channels, `--scale 1/255`), batch 32, "
                 "Adam 1e-3 (eps 1e-7) with the `.dnn`'s exponential schedule, l2 1e-4 on the conv kernels, "
                 "init `he`; test accuracy on the 10,000 test images:", "",
                 "| side | test accuracy | training time: CPU / wall (s) |", "|---|--:|--:|",
                 f"| dnnc (`./resnet8 train`, seed 0: the whole command) | {dnnc_acc:.2f}% | {cpu:.0f} / {wall:.0f} |"]
        for seed, acc, (twall, tcpu) in runs:
            lines.append(f"| PyTorch twin, seed {seed} (the training loop) | {acc:.2f}% | {tcpu:.0f} / {twall:.0f} |")
        if runs:
            accs = [a for _, a, _ in runs]
            mean = statistics.mean(accs)
            gap = dnnc_acc - mean
            verdict = f"within {ACCURACY_GOAL:g} point" if abs(gap) <= ACCURACY_GOAL else \
                f"**more than {ACCURACY_GOAL:g} point**"
            time_ratio = statistics.median(c for _, _, (_, c) in runs) / cpu
            lines += ["", f"dnnc {dnnc_acc:.2f}% against the twin's {mean:.2f}% (mean of {len(accs)} seed"
                      f"{'s' if len(accs) > 1 else ''}, range {min(accs):.2f}–{max(accs):.2f}): "
                      f"{gap:+.2f} points, {verdict}. PyTorch / dnnc in CPU time: {time_ratio:.2f}."]
        return lines

    def int8_table(self):
        """Batch-1 inference of the int8 build beside the float build of the same weights, and PyTorch's int8 twin."""
        models = [m for m in self.models if f"dnnc.{m}.infer_int8" in self.v]
        if not models:
            return []
        lines = ["| model, batch 1 | dnnc float32 | dnnc int8 | float / int8 | PyTorch int8 (qnnpack) "
                 "| PyTorch / dnnc int8 | test accuracy float → int8 | goal |", "|---|--:|--:|--:|--:|--:|--:|---|"]
        for m in models:
            f32, q8 = self.micro("dnnc", m, "infer_f32"), self.micro("dnnc", m, "infer_int8")
            torch = self.micro("torch", m, "infer_int8")
            acc_f, acc_q = (float(self.v[f"dnnc.{m}.accuracy_{v}"][0].split()[0]) for v in ("f32", "int8"))
            limit, speedup = INT8_GOAL[m]
            met = q8[0] * 1e6 <= limit and (speedup is None or f32[0] / q8[0] >= speedup)
            goal = f"≤ {limit:g} µs" + (f", ≥ {speedup:g}x" if speedup else "") + (": met" if met else ": **not met**")
            lines.append(f"| {NAMES[m]} | {timing(*f32[:3])} | {timing(*q8[:3])} | {f32[0] / q8[0]:.2f} "
                         f"| {timing(*torch[:3])} | {torch[0] / q8[0]:.0f} | {acc_f:.2f}% → {acc_q:.2f}% "
                         f"({acc_q - acc_f:+.2f}) | {goal} |")
        return lines

    def busy(self):
        """The largest wall/CPU ratio of any figure: 1.00 on an idle machine."""
        ratios = [self.micro(side, m, f)[3] / self.micro(side, m, f)[0]
                  for side in ("dnnc", "torch") for m in self.models for f in ("train_step", "infer")]
        ratios += [self.micro(side, m, f)[3] / self.micro(side, m, f)[0] for side, f in
                   (("dnnc", "infer_f32"), ("dnnc", "infer_int8"), ("torch", "infer_int8"))
                   for m in self.models if f"{side}.{m}.{f}" in self.v]
        ratios += [w / c for side in ("dnnc", "torch") for m in self.models for w, c in self.epochs(side, m)]
        ratios += [self.micro(side, m, "train_step")[3] / self.micro(side, m, "train_step")[0]
                   for side in ("dnnc", "torch") for m in self.mlperf]
        return max(ratios, default=1.0)

    def memory(self):
        lines = []
        for model in self.models:
            floats = int(self.v[f"dnnc.{model}.train_act_floats"][0])
            lines.append(f"- {NAMES[model]}: inference (`dnnc --inference --emit=report`): activations "
                         f"{self.v[f'dnnc.{model}.inference_activations'][0]}; training plan "
                         f"(`float act[]` of the batch-{BATCH} header): {floats:,} floats = {4 * floats:,} bytes")
        return lines

    def issue8(self):
        """The issue 8 tables: models/mlp.dnn and models/lenet5.dnn."""
        out = []
        out += self.table()
        out += ["",
                "Times are CPU time (user + system; the other jobs of a shared machine do not "
                "inflate it, and for these single-threaded programs it equals wall time on an idle "
                "machine): the median (min–max) of 11 repetitions per call for the step and inference "
                "rows, of the full-epoch runs for the epoch rows: dnnc's whole `./NAME train` command, "
                "PyTorch's data reading and training loop (without the interpreter's startup and "
                "`import torch`); wall times below. GFLOP/s and % of peak are dnnc's, from the FLOPs "
                "per sample of issue 8. PyTorch / dnnc above 1: dnnc is faster.",
                ""]
        floor = self.read_floor()
        if floor:
            out += ["Batch-1 inference has to read every weight once per call, and the weights do not fit "
                    "in L1, so a single core's cache read rate sets a floor under it, whatever the FMA peak:", ""]
            out += floor + [""]
        out += ["Test accuracy (10,000 images) after the one-epoch runs:", ""]
        out += self.accuracy()
        out += ["", "Epoch runs:", ""]
        out += self.epoch_details()
        threads = self.threads_table()
        if threads:
            out += ["", f"Training on {self.info('threads')} threads (`--threads {self.info('threads')}`; "
                    "PyTorch with its default threads, OMP_NUM_THREADS unset), wall time, median (min–max) of "
                    "the epoch runs; the weights after each run are byte-identical to the 1-thread run's "
                    "(run.sh checks):", ""] + threads
        out += ["", "Activation memory:", ""]
        out += self.memory()
        return out + [""]

    def render(self):
        peak, end = numbers(self.v["peak_avx2"][0]), numbers(self.v["end.peak_avx2"][0])
        out = [f"Run of {self.info('date')} on {self.info('cpu')}; {self.info('cc')}, "
               f"generated code built with `{self.info('cflags')}`; {self.info('dnnc')}; "
               f"PyTorch {self.info('torch')} (BLAS_INFO={self.info('blas_info')}, "
               f"BLAS loaded: {self.info('blas_loaded')}), {self.info('torch_threads')} thread.",
               "",
               f"Measured FP32 FMA peak of one core (AVX2, 12 chains of `vfmadd` on __m256): "
               f"**{self.peak2:.1f} GFLOP/s**, the higher of two medians of 11: {peak[0]:.1f} "
               f"({peak[1]:.1f}–{peak[2]:.1f}) at the start, {end[0]:.1f} ({end[1]:.1f}–{end[2]:.1f}) at the end.",
               ""]
        if self.peak512:
            out += [f"The same loop with AVX-512 (__m512), which `-march=native` enables here and the dense "
                    f"kernels use: {self.peak512:.1f} GFLOP/s. \"% of peak\" uses the higher of the two, "
                    f"**{self.peak:.1f} GFLOP/s**.", ""]
        if self.models:
            out += self.issue8()
        if self.mlperf:
            out += ["## MLPerf Tiny networks", ""] + self.mlperf_table()
            out += ["",
                    "CPU time, the median (min–max) of 11 repetitions, each from a fresh model after 4 "
                    "warm-up steps; synthetic data (inputs uniform in [0, 1), random labels; the "
                    "autoencoder's target is its input). ≈ GFLOP/s counts 6 FLOPs per multiply-accumulate of "
                    "`dnnc --emit=report` per sample (forward, input and weight gradients). Activations and "
                    "sizeof(model) are the batch-32 training build's (`dnnc --batch 32 --emit=report`).", ""]
            out += self.fashion32()
        int8 = self.int8_table()
        if int8:
            out += ["## int8 inference", ""] + int8
            out += ["", "The last epoch run's weights, calibrated on 1,000 training images (`NAME calibrate`), "
                    "compiled from the same weights as `dnnc --inference --optimize=speed --embed-weights` and "
                    "`dnnc --inference --quantize=int8 --embed-weights`; CPU time per image (median, min–max of "
                    "11), softmax included; accuracy on the 10,000 test images. PyTorch's int8 twin is "
                    "tests/quant/oracle.py's post-training quantization (engine qnnpack) of the same "
                    "architecture.", ""]
            for m in self.models:
                if f"dnnc.{m}.infer_f32" in self.v:  # issue 21: embedded weights as fast as loaded ones
                    e, l = self.micro("dnnc", m, "infer_f32")[0], self.micro("dnnc", m, "infer")[0]
                    out.append(f"- {NAMES[m]} float32, embedded weights (`--embed-weights --optimize=speed`) "
                               f"{e * 1e6:.2f} µs against loaded ones (the inference row above) {l * 1e6:.2f} µs: "
                               f"{e / l:.2f}x.")
            out.append("")
        out += ["",
                f"Machine load: {self.info('load_start')} at the start, {self.info('load_end')} at the end "
                f"(1-, 5-, 15-minute averages); wall/CPU time up to "
                f"{self.busy():.2f} (1.00 on an idle core). `make bench` took {self.info('seconds')} s."]
        return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS.txt")
    print(Report(read(sys.argv[1])).render())


if __name__ == "__main__":
    main()
