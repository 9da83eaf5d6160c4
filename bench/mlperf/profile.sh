#!/bin/sh
# bench/mlperf/profile.sh NAME... — where dnnc's train step (batch 32) of
# models/NAME.dnn spends its time, layer by layer, with perf.
#
# The generated code has one static function per layer and pass
# (NAME_res3_3_conv2d_backward, ...) whose kernels the runtime headers
# inline, so a perf profile by symbol is a profile by layer, once gcc is
# told not to inline those functions into train_step
# (-fno-inline-functions-called-once -fno-inline-small-functions; and
# -fno-ipa-icf, or identical layers would share one symbol; the
# kernels, declared inline, stay inlined in them).
# bench/harness.c runs the steps (synthetic data, as `make bench`); perf
# samples them. Prints, per layer, its share of the samples (forward and
# backward together, then each) beside its share of the multiply-
# accumulates (`dnnc --emit=report`): a layer far above its MAC share runs
# a slow kernel. Output also in build/bench/NAME/profile.txt.
#
# Needs perf (linux-perf) and `make` first. Environment: CC (cc).
set -eu
cd "$(dirname "$0")/../.."
cc=${CC:-cc}
if ! command -v perf >/dev/null; then
    echo "profile.sh: error: perf is not installed (apt-get install linux-perf)" >&2
    exit 1
fi
[ $# -gt 0 ] || { echo "usage: bench/mlperf/profile.sh NAME...   (models/NAME.dnn)" >&2; exit 2; }
for m in "$@"; do
    [ -f models/$m.dnn ] || { echo "profile.sh: error: models/$m.dnn not found" >&2; exit 1; }
    dir=build/bench/$m
    mkdir -p $dir
    build/dnnc -q --prefix train_net --batch 32 models/$m.dnn -o $dir/train_net.c
    input=$(sed -n 's|^#define \(TRAIN_NET_[A-Z0-9_]*_SIZE\) [0-9]* /\* per-sample elements of input .*|\1|p' \
        $dir/train_net.h | head -n 1)
    target=-DBENCH_NO_TARGET
    grep -q '^#define TRAIN_NET_LABEL_CLASSES ' $dir/train_net.h && target=
    $cc -std=c99 -O3 -march=native -g -fno-inline-functions-called-once -fno-inline-small-functions -fno-ipa-icf \
        -DBENCH_SYNTHETIC -DBENCH_INPUT_SIZE=$input $target -Ibench -Iruntime -I$dir bench/harness.c $dir/train_net.c \
        build/libdnnrt.a -lz -lm -o $dir/harness_prof
    build/dnnc --batch 32 --emit=report models/$m.dnn >$dir/train_report.txt
    perf record -q -F 999 -o $dir/perf.data $dir/harness_prof >$dir/harness_prof.txt 2>/dev/null
    perf report -i $dir/perf.data --no-children --sort sym --stdio 2>/dev/null |
        /usr/bin/python3 bench/mlperf/profile_table.py $m $dir/train_report.txt $dir/train_net.c | tee $dir/profile.txt
done
