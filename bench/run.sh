#!/bin/sh
# bench/run.sh — `make bench`: dnnc's generated code against PyTorch on
# models/mlp.dnn and models/lenet5.dnn, single-threaded, and against the
# machine's measured FMA peak (bench/README.md says what and how).
#
# Builds everything it runs under build/bench/ from the current sources
# (the generated code is whatever build/dnnc emits now), appends every
# measurement to build/bench/results.txt as "KEY VALUE..." lines, then
# bench/report.py turns them into the table (stdout and
# build/bench/results.md). Run from anywhere after `make`.
#
# Environment: CC (cc), DATA (Debian's Fashion-MNIST directory),
# EPOCH_RUNS (3: full epochs per model and framework).
set -eu
cd "$(dirname "$0")/.."

out=build/bench
data=${DATA:-/usr/share/datasets/fashion-mnist}
runs=${EPOCH_RUNS:-3}
cc=${CC:-cc}
python=/usr/bin/python3
results=$out/results.txt
models="mlp lenet5"
cflags="-std=c99 -O3 -march=native" # the generated code's flags (issue 8); no -ffast-math
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

say() { echo "bench: $*" >&2; }
fail() { say "$*"; exit 1; }
record() { echo "$*" >>"$results"; }
# keep KEY FILE COMMAND...: runs COMMAND (failing the bench if it fails) with its
# output in FILE, then appends FILE's lines to the results, each prefixed with KEY.
keep() {
    key=$1 file=$2
    shift 2
    "$@" >"$file" || fail "failed: $* (output in $file)"
    sed "s/^/$key./" "$file" >>"$results"
}

[ -x build/dnnc ] && [ -f build/libdnnrt.a ] || fail "build/dnnc or build/libdnnrt.a missing: run make first"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$data/$f" ] || fail "$data/$f missing: apt-get install dataset-fashion-mnist (or set DATA)"
done
$python -c 'import torch, numpy' 2>/dev/null || fail "$python cannot import torch: apt-get install python3-torch"

mkdir -p "$out"
: >"$results"
started=$(date +%s)

# --- the machine -------------------------------------------------------------
record "info.date $(date '+%Y-%m-%d %H:%M %Z')"
record "info.cpu $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(getconf _NPROCESSORS_ONLN) cores"
record "info.cc $($cc --version | head -n 1)"
record "info.cflags $cflags"
record "info.dnnc $(build/dnnc --version | head -n 1)"
record "info.load_start $(cut -d ' ' -f 1-3 /proc/loadavg)"
keep info $out/torch_info.txt $python bench/torch_twin.py info
if grep -q '^info.blas_loaded.*/blas/libblas' "$results"; then
    say "warning: torch uses the reference BLAS; apt-get install libopenblas0 makes it use OpenBLAS"
fi

# --- the builds ----------------------------------------------------------------
say "building the harnesses and training programs ($cc $cflags)"
$cc -std=c99 -O2 -mavx2 -mfma -Ibench bench/peak.c -o $out/peak
$cc -std=c99 -O2 -Ibench bench/timeit.c -o $out/timeit
for m in $models; do
    dir=$out/$m
    mkdir -p "$dir"
    build/dnnc -q --prefix train_net models/$m.dnn -o $dir/train_net.c
    build/dnnc -q --prefix infer_net --inference models/$m.dnn -o $dir/infer_net.c
    $cc $cflags -Ibench -Iruntime -I$dir bench/harness.c $dir/train_net.c $dir/infer_net.c \
        build/libdnnrt.a -lz -lm -o $dir/harness
    build/dnnc -q --main models/$m.dnn -o $dir/$m.c
    $cc $cflags -Iruntime $dir/$m.c build/libdnnrt.a -lz -lm -o $dir/$m
    # Memory: the training plan's act[] (from the header) and the inference report.
    record "dnnc.$m.train_act_floats $(sed -n 's/.*float act\[\([0-9]*\)\].*/\1/p' $dir/train_net.h)"
    build/dnnc --inference --emit=report models/$m.dnn >$dir/report.txt
    record "dnnc.$m.inference_activations $(sed -n 's/^activations: *//p' $dir/report.txt)"
done

# --- 1. the FMA peak -------------------------------------------------------------
say "FMA peak of one core"
$out/peak >>"$results"
for m in $models; do # the floor of batch-1 inference: reading every weight once
    bytes=$((4 * $(sed -n 's/.*INFER_NET_NUM_PARAMS \([0-9]*\).*/\1/p' $out/$m/infer_net.h)))
    record "read.$m $bytes $($out/peak --read $bytes)"
done

# --- 2. train step at batch 32 and inference at batch 1 ------------------------------
for m in $models; do
    say "$m: train step and inference, dnnc"
    keep dnnc.$m $out/$m/harness.txt $out/$m/harness $data/train-images-idx3-ubyte.gz \
        $data/train-labels-idx1-ubyte.gz
    say "$m: train step and inference, PyTorch"
    keep torch.$m $out/$m/torch_micro.txt $python bench/torch_twin.py micro $m
done

# --- 3. full epochs, dnnc and PyTorch interleaved (a slow drift hits both) -------------
run=1
while [ $run -le "$runs" ]; do
    for m in $models; do
        dir=$out/$m
        say "$m: epoch $run/$runs, dnnc"
        $out/timeit "$results" dnnc.$m.epoch $dir/$m train $data/train-images-idx3-ubyte.gz \
            $data/train-labels-idx1-ubyte.gz --scale 1/255 --epochs 1 --quiet --save $dir/epoch.safetensors \
            >$dir/epoch.log 2>&1 || fail "$m: the training program failed; see $dir/epoch.log"
        $dir/$m eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz \
            --weights $dir/epoch.safetensors >$dir/eval.txt || fail "$m: eval failed; see $dir/eval.txt"
        accuracy=$(sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p' $dir/eval.txt)
        [ -n "$accuracy" ] || fail "$m: no accuracy in $dir/eval.txt"
        record "dnnc.$m.accuracy $accuracy"
        say "$m: epoch $run/$runs, PyTorch"
        keep torch.$m $dir/torch_epoch.txt $python bench/torch_twin.py epoch $m
    done
    run=$((run + 1))
done

say "FMA peak of one core, again (a check that the clock did not change)"
keep end $out/peak_end.txt $out/peak
record "info.load_end $(cut -d ' ' -f 1-3 /proc/loadavg)"
record "info.seconds $(($(date +%s) - started))"
$python bench/report.py "$results" | tee $out/results.md
