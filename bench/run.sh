#!/bin/sh
# bench/run.sh — `make bench`: dnnc's generated code against PyTorch on
# models/mlp.dnn and models/lenet5.dnn, single-threaded, and against the
# machine's measured FMA peak; then the train step of the four MLPerf Tiny
# networks and ResNet-8 trained on Fashion-MNIST padded to 32x32
# (bench/README.md says what and how).
#
# Builds everything it runs under build/bench/ from the current sources
# (the generated code is whatever build/dnnc emits now), appends every
# measurement to build/bench/results.txt as "KEY VALUE..." lines, then
# bench/report.py turns them into the table (stdout and
# build/bench/results.md). Run from anywhere after `make`.
#
# Environment: CC (cc), DATA (Debian's Fashion-MNIST directory),
# EPOCH_RUNS (3: full epochs per model and framework), MODELS ("mlp
# lenet5"), MLPERF (the four networks' .dnn names; empty skips them),
# RESNET8_EPOCHS (2; 0 skips the Fashion-MNIST training), RESNET8_LIMIT (0:
# all 60,000 training images), RESNET8_SEEDS ("0 1 2": the twin's seeds),
# OPENBLAS_DIR (a directory holding OpenBLAS's libblas.so.3 for PyTorch, when
# the system's is the reference BLAS and libopenblas0 cannot be installed),
# THREADS (2: the thread rows' --threads; PyTorch there has its default).
set -eu
cd "$(dirname "$0")/.."

out=build/bench
data=${DATA:-/usr/share/datasets/fashion-mnist}
runs=${EPOCH_RUNS:-3}
cc=${CC:-cc}
python=/usr/bin/python3
if [ -n "${OPENBLAS_DIR:-}" ]; then # PyTorch's BLAS from a directory, e.g. an unpacked libopenblas0-pthread
    [ -f "$OPENBLAS_DIR/libblas.so.3" ] || {
        echo "bench: $OPENBLAS_DIR/libblas.so.3 missing (OPENBLAS_DIR)" >&2
        exit 1
    }
    python="env LD_LIBRARY_PATH=$OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} /usr/bin/python3"
fi
results=$out/results.txt
models=${MODELS-mlp lenet5}
mlperf=${MLPERF-ds_cnn resnet8 mobilenet_v1_025 fc_autoencoder}
r8_epochs=${RESNET8_EPOCHS:-2}
r8_limit=${RESNET8_LIMIT:-0}
r8_seeds=${RESNET8_SEEDS:-0 1 2}
threads=${THREADS:-2}
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
    say "warning: torch uses the reference BLAS; apt-get install libopenblas0 (or OPENBLAS_DIR) makes it use OpenBLAS"
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

# The MLPerf Tiny networks: the training code at batch 32 (the issue's
# figure, whatever the train block's batch), timed on synthetic data; the
# harness learns the input's name and whether there is a class target from
# the generated header.
for m in $mlperf; do
    dir=$out/$m
    mkdir -p "$dir"
    build/dnnc -q --prefix train_net --batch 32 models/$m.dnn -o $dir/train_net.c
    input=$(sed -n 's|^#define \(TRAIN_NET_[A-Z0-9_]*_SIZE\) [0-9]* /\* per-sample elements of input .*|\1|p' \
        $dir/train_net.h | head -n 1)
    target=-DBENCH_NO_TARGET
    grep -q '^#define TRAIN_NET_LABEL_CLASSES ' $dir/train_net.h && target=
    $cc $cflags -DBENCH_SYNTHETIC -DBENCH_INPUT_SIZE=$input $target -Ibench -Iruntime -I$dir bench/harness.c \
        $dir/train_net.c build/libdnnrt.a -lz -lm -o $dir/harness
    build/dnnc --batch 32 --emit=report models/$m.dnn >$dir/train_report.txt
    report=$dir/train_report.txt
    record "dnnc.$m.train_activations $(sed -n 's/^activations: *\([0-9,]*\) bytes.*/\1/p' $report | tr -d ,)"
    record "dnnc.$m.train_ram $(sed -n 's/^RAM of the model: *\([0-9]*\) bytes.*/\1/p' $report)"
    record "dnnc.$m.macs $(sed -n 's/^multiply-accumulates: *\([0-9,]*\) per sample.*/\1/p' $report | tr -d ,)"
done
if [ -n "$mlperf" ] && [ "$r8_epochs" -gt 0 ]; then
    dir=$out/resnet8
    mkdir -p "$dir"
    build/dnnc -q --main models/resnet8.dnn -o $dir/resnet8.c
    $cc $cflags -Iruntime $dir/resnet8.c build/libdnnrt.a -lz -lm -o $dir/resnet8
fi

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

# --- 2b. the MLPerf Tiny networks' train step at batch 32 ------------------------------
for m in $mlperf; do
    say "$m: train step, batch 32, dnnc"
    keep dnnc.$m $out/$m/harness.txt $out/$m/harness
    say "$m: train step, batch 32, PyTorch"
    keep torch.$m $out/$m/torch_step.txt $python bench/mlperf/torch_bench.py step $m
done

# --- 3. full epochs, dnnc and PyTorch interleaved (a slow drift hits both) -------------
# One thread each, then (wall time) dnnc on $threads threads and PyTorch with its
# default threads, the load before each of those runs recorded.
record "info.threads $threads"
run=1
while [ $run -le "$runs" ]; do
    for m in $models; do
        dir=$out/$m
        say "$m: epoch $run/$runs, dnnc"
        $out/timeit "$results" dnnc.$m.epoch $dir/$m train $data/train-images-idx3-ubyte.gz \
            $data/train-labels-idx1-ubyte.gz --scale 1/255 --epochs 1 --quiet --threads 1 \
            --save $dir/epoch.safetensors >$dir/epoch.log 2>&1 || fail "$m: the training program failed; see $dir/epoch.log"
        say "$m: epoch $run/$runs, dnnc, $threads threads"
        record "dnnc.$m.threads.load $(cut -d ' ' -f 1 /proc/loadavg)"
        $out/timeit "$results" dnnc.$m.threads.epoch $dir/$m train $data/train-images-idx3-ubyte.gz \
            $data/train-labels-idx1-ubyte.gz --scale 1/255 --epochs 1 --quiet --threads $threads \
            --save $dir/epoch_threads.safetensors >$dir/epoch_threads.log 2>&1 ||
            fail "$m: the training program failed on $threads threads; see $dir/epoch_threads.log"
        cmp -s $dir/epoch.safetensors $dir/epoch_threads.safetensors ||
            fail "$m: the weights after an epoch on $threads threads differ from one thread's"
        $dir/$m eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz \
            --weights $dir/epoch.safetensors >$dir/eval.txt || fail "$m: eval failed; see $dir/eval.txt"
        accuracy=$(sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p' $dir/eval.txt)
        [ -n "$accuracy" ] || fail "$m: no accuracy in $dir/eval.txt"
        record "dnnc.$m.accuracy $accuracy"
        say "$m: epoch $run/$runs, PyTorch"
        keep torch.$m $dir/torch_epoch.txt $python bench/torch_twin.py epoch $m
        say "$m: epoch $run/$runs, PyTorch, its default threads"
        record "torch.$m.threads.load $(cut -d ' ' -f 1 /proc/loadavg)"
        keep torch.$m.threads $dir/torch_epoch_threads.txt env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS \
            -u MKL_NUM_THREADS $python bench/torch_twin.py epoch $m --default-threads
    done
    run=$((run + 1))
done

# --- 3b. int8 batch-1 inference (issue 20) -----------------------------------------------
# The last epoch run's weights, calibrated on 1,000 training images (`NAME calibrate`),
# compiled twice from the same weights: float (--embed-weights --optimize=speed) and int8
# (--quantize=int8), each timed at batch 1 and evaluated on the test images by
# bench/int8/eval.c; PyTorch's int8 twin (qnnpack) timed beside them.
if [ "$runs" -gt 0 ] && [ -n "$models" ]; then
    gunzip -c $data/t10k-images-idx3-ubyte.gz >$out/t10k-images
    gunzip -c $data/t10k-labels-idx1-ubyte.gz >$out/t10k-labels
fi
for m in $models; do
    dir=$out/$m w=$out/$m/epoch.safetensors
    [ "$runs" -gt 0 ] || break
    $dir/$m calibrate $data/train-images-idx3-ubyte.gz --weights $w --limit 1000 -o $dir/cal.safetensors \
        >$dir/calibrate.log 2>&1 || fail "$m: calibrate failed; see $dir/calibrate.log"
    build/dnnc -q --inference --optimize=speed --embed-weights $w models/$m.dnn -o $dir/infer_f32.c
    build/dnnc -q --inference --quantize=int8 --calibrate $dir/cal.safetensors --embed-weights $w models/$m.dnn \
        -o $dir/infer_int8.c
    for v in f32 int8; do
        $cc $cflags -DBENCH_TIMING -D_POSIX_C_SOURCE=200809L -Ibench -Iruntime -I$dir -DMODEL=$m \
            -include $dir/infer_$v.h bench/int8/eval.c $dir/infer_$v.c build/libdnnrt.a -lm -o $dir/eval_$v
        say "$m: batch-1 inference, $v build with embedded weights"
        $dir/eval_$v $out/t10k-images $out/t10k-labels infer_$v >$dir/eval_$v.txt ||
            fail "$m: $dir/eval_$v failed"
        sed -e "s/^accuracy /accuracy_$v /" -e "s/^/dnnc.$m./" $dir/eval_$v.txt >>"$results"
    done
    say "$m: batch-1 inference, PyTorch's int8 twin"
    keep torch.$m $dir/torch_int8.txt $python bench/torch_twin.py int8 $m
done

# --- 4. ResNet-8 on Fashion-MNIST padded to 32x32, 3 channels ---------------------------
if [ -n "$mlperf" ] && [ "$r8_epochs" -gt 0 ]; then
    f32=$out/fashion32 dir=$out/resnet8
    if [ ! -f $f32/t10k_labels.npy ]; then
        say "converting Fashion-MNIST to 3x32x32 .npy files in $f32"
        $python bench/mlperf/torch_bench.py convert $f32 || fail "the conversion to $f32 failed"
    fi
    limit=
    [ "$r8_limit" -gt 0 ] && limit="--limit $r8_limit"
    record "resnet8.epochs $r8_epochs"
    record "resnet8.limit $r8_limit"
    say "resnet8: $r8_epochs epochs on Fashion-MNIST 32x32, dnnc"
    # shellcheck disable=SC2086 # $limit is an option and its value, or nothing
    $out/timeit "$results" dnnc.resnet8.fashion $dir/resnet8 train $f32/train_images.npy $f32/train_labels.npy \
        --scale 1/255 --epochs $r8_epochs $limit --save $dir/fashion.safetensors >$dir/fashion.log 2>&1 ||
        fail "resnet8: the training program failed; see $dir/fashion.log"
    $dir/resnet8 eval $f32/t10k_images.npy $f32/t10k_labels.npy --weights $dir/fashion.safetensors \
        >$dir/fashion_eval.txt || fail "resnet8: eval failed; see $dir/fashion_eval.txt"
    accuracy=$(sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p' $dir/fashion_eval.txt)
    [ -n "$accuracy" ] || fail "resnet8: no accuracy in $dir/fashion_eval.txt"
    record "dnnc.resnet8.fashion_accuracy $accuracy"
    for seed in $r8_seeds; do
        say "resnet8: $r8_epochs epochs on Fashion-MNIST 32x32, PyTorch, seed $seed"
        # shellcheck disable=SC2086
        keep torch.resnet8.seed$seed $dir/torch_fashion_seed$seed.txt $python bench/mlperf/torch_bench.py resnet8 \
            $f32 --epochs $r8_epochs $limit --seed $seed
    done
fi

say "FMA peak of one core, again (a check that the clock did not change)"
keep end $out/peak_end.txt $out/peak
record "info.load_end $(cut -d ' ' -f 1-3 /proc/loadavg)"
record "info.seconds $(($(date +%s) - started))"
$python bench/report.py "$results" >$out/results.md
# LeNet-5's train step layer by layer (issue 21), when perf can sample
if [ "${models#*lenet5}" != "$models" ] && command -v perf >/dev/null; then
    say "lenet5: the train step layer by layer (bench/layers.sh)"
    if sh bench/layers.sh lenet5 >$out/layers.md; then
        printf '\n## LeNet-5 train step, layer by layer (`bench/layers.sh`)\n\n' >>$out/results.md
        cat $out/layers.md >>$out/results.md
    fi
fi
cat $out/results.md
