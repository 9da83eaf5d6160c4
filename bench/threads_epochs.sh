#!/bin/sh
# bench/threads_epochs.sh [RUNS] — dnnc's Fashion-MNIST epoch on 1 and on
# THREADS (2) threads, interleaved, RUNS (5) times each, with the 1-minute
# load before each run; prints the wall-time medians, the speed-up and the
# CPU times. Uses the training programs `make bench` built in build/bench/.
set -eu
cd "$(dirname "$0")/.."
data=${DATA:-/usr/share/datasets/fashion-mnist} threads=${THREADS:-2} out=build/bench/threads_epochs.txt
: >$out
for r in $(seq "${1:-5}"); do
    for m in mlp lenet5; do
        for t in 1 "$threads"; do
            echo "load $m $t $(cut -d ' ' -f 1 /proc/loadavg)" >>$out
            build/bench/timeit $out "$m.t$t" build/bench/$m/$m train $data/train-images-idx3-ubyte.gz \
                $data/train-labels-idx1-ubyte.gz --scale 1/255 --epochs 1 --quiet --threads $t \
                --save build/bench/$m/threads_epochs.safetensors >/dev/null 2>&1
        done
    done
done
python3 - "$out" "$threads" <<'P'
import collections, statistics, sys
v, loads = collections.defaultdict(list), []
for line in open(sys.argv[1]):
    k, *x = line.split()
    if k == "load":
        loads.append(float(x[2]))
    else:
        v[k].append((float(x[0]), float(x[1])))
n = sys.argv[2]
for m in ("mlp", "lenet5"):
    w1, wn = [w for w, _ in v[m + ".t1"]], [w for w, _ in v[f"{m}.t{n}"]]
    c1, cn = (statistics.median(c for _, c in v[k]) for k in (m + ".t1", f"{m}.t{n}"))
    print(f"{m}: 1 thread {statistics.median(w1):.3f} s ({min(w1):.3f}-{max(w1):.3f}), {n} threads "
          f"{statistics.median(wn):.3f} s ({min(wn):.3f}-{max(wn):.3f}), speed-up "
          f"{statistics.median(w1) / statistics.median(wn):.2f}; CPU {c1:.2f} / {cn:.2f} s")
print(f"load {min(loads)}-{max(loads)}")
P
