#!/bin/sh
# bench/layers.sh — LeNet-5's train step (batch 32) layer by layer: where
# the time goes and each conv and dense layer's GFLOP/s against the FMA
# peak (issue 21). `perf record` (Debian's linux-perf) samples bench's
# harness built as run.sh builds it, but with the generated layer functions
# kept out of line (-fno-inline-functions -fno-inline-small-functions
# -fno-inline-functions-called-once: the kernels, static inline, are still
# inlined into them), and bench/layers.py turns the profile into a table.
# Needs a `make bench` run first (its build/bench/lenet5/ and
# build/bench/results.txt's peak). Not in make check.
#
# Usage: sh bench/layers.sh [MODEL]   (lenet5; mlp works too)
set -eu
cd "$(dirname "$0")/.."
model=${1:-lenet5}
dir=build/bench/$model
data=${DATA:-/usr/share/datasets/fashion-mnist}
say() { echo "layers: $*" >&2; }
command -v perf >/dev/null || { say "perf is not installed (apt-get install linux-perf)"; exit 1; }
[ -f $dir/train_net.c ] && [ -f build/bench/results.txt ] || { say "run make bench (or bench/run.sh) first"; exit 1; }
# the peak of report.py's "% of peak": the highest median of the AVX2 and AVX-512 loops, start or end
peak=$(sed -n 's/^\(end\.\)\{0,1\}peak_avx[0-9]* \([0-9.]*\).*/\2/p' build/bench/results.txt | sort -g | tail -n 1)
${CC:-cc} -std=c99 -O3 -march=native -fno-inline-functions -fno-inline-small-functions \
    -fno-inline-functions-called-once -Ibench -Iruntime -I$dir bench/harness.c $dir/train_net.c $dir/infer_net.c \
    build/libdnnrt.a -lz -lm -o $dir/harness-layers
build/dnnc --inference --emit=report models/$model.dnn >$dir/report.txt
say "profiling $model's harness (perf record, about 10 s)"
perf record -q -F 4000 -o $dir/perf.data $dir/harness-layers $data/train-images-idx3-ubyte.gz \
    $data/train-labels-idx1-ubyte.gz >$dir/harness-layers.txt 2>$dir/perf.log || {
    say "perf record failed: $(tail -1 $dir/perf.log) (perf_event_paranoid?)"
    exit 1
}
perf report -i $dir/perf.data --stdio --sort symbol -q 2>/dev/null >$dir/perf.txt
/usr/bin/python3 bench/layers.py $dir/perf.txt $dir/harness-layers.txt $dir/report.txt 32 "$peak"
normal=$(sed -n "s/^dnnc.$model.train_step \([0-9.e+-]*\) .*/\1/p" build/bench/results.txt | head -n 1)
[ -z "$normal" ] || awk -v t="$normal" 'BEGIN { printf "The same step built as make bench builds it (layer functions inlined): %.0f µs.\n", t * 1e6 }'
