#!/bin/sh
# --inference against PyTorch: every golden case compiled forward-only (fused
# conv/activation/pool, reused activations, aliases, in-place steps) with its
# weights embedded (--embed-weights) and PyTorch's outputs baked in
# (--emit=selftest), built warning-free with gcc and clang, run at batch 1,
# and at batch 3 (a partial last batch) loading the weights instead (on the
# cases of tests/golden/covering.sh: every operation), and
# with both --optimize goals (size is the default with embedded weights);
# speed built with -mavx2 -mfma (the kernels' DNN_V8 path) when the machine
# has AVX2 and FMA, and without (plain C) on the covering cases (on every
# case when the machine has no AVX2).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc="${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror"
inc="-Iruntime -I$tmp" # after $extra, whose precompiled kernels (tests/pch.sh) come first
data=tests/golden/data

# selftest CASE TAG DNNC-OPTIONS...: builds and runs the case's self-test
selftest() {
    case=$1 tag=$2; shift 2
    out=$tmp/$case.$tag
    name=$(sed -n 's/^model \([A-Za-z0-9_]*\).*/\1/p' "tests/golden/cases/$case.dnn" | head -1)
    if ! build/dnnc --inference --emit=selftest --golden "$data/$case.golden.safetensors" "$@" \
            "tests/golden/cases/$case.dnn" -o "$out.c" 2>"$out.err"; then
        echo "FAIL inference/$case.$tag dnnc: $(head -1 "$out.err")"; return
    fi
    # one translation unit, the generated C included: a build is one compile
    # (half of a small case's time was the second one's start)
    cat >"$out.main.c" <<EOF2
#include <stdio.h>
#include "$(basename "$out").c"
static ${name}_model m;
int main(void) {
    float worst;
    ${name}_init(&m, 1);
    int bad = ${name}_selftest(&m, &worst);
    printf("%d values off, worst error %g, RAM %zu bytes%c", bad, worst, sizeof m, 10);
    return bad != 0;
}
EOF2
    if ! $cc $extra $inc "$out.main.c" build/libdnnrt.a -lm -o "$out" 2>"$out.err"; then
        echo "FAIL inference/$case.$tag compile: $(grep -m1 error "$out.err")"; return
    fi
    if "$out" >"$out.out" 2>&1; then
        echo "PASS inference/$case.$tag ($(cat "$out.out"))"
    else
        echo "FAIL inference/$case.$tag: $(cat "$out.out")"
    fi
}

extra=
avx=
grep -q ' avx2 ' /proc/cpuinfo 2>/dev/null && grep -q ' fma ' /proc/cpuinfo && avx="-mavx2 -mfma"
. tests/pch.sh # the kernels precompiled for the speed.avx builds
[ -n "$avx" ] && avx="$avx $(pch_flags "$tmp/pch" -O2 $avx)"

# a partial batch with loaded weights (the same code as embedded's, other
# sizes and other storage, in one build) on the cases that use every
# operation between them
covering=$(sh tests/golden/covering.sh)

# two cases at a time (each in its own subshell and log), printed in order
jobs=0
for f in tests/golden/cases/*.dnn; do
    case=$(basename "$f" .dnn)
    [ -e "$data/$case.golden.safetensors" ] || continue
    (
        selftest "$case" embedded --embed-weights "$data/$case.weights.safetensors"
        covers=; case " $covering " in *" $case "*) covers=1 ;; esac
        if [ -n "$covers" ]; then
            selftest "$case" loaded.batch3 --batch 3 --weights "$data/$case.weights.safetensors"
        fi
        # speed's C without vectors on those cases too when it runs with them on every case
        if [ -n "$covers" ] || [ -z "$avx" ]; then
            selftest "$case" speed --optimize=speed --embed-weights "$data/$case.weights.safetensors"
        fi
        if [ -n "$avx" ]; then
            extra=$avx
            selftest "$case" speed.avx --optimize=speed --embed-weights "$data/$case.weights.safetensors"
            extra=
        fi
    ) >"$tmp/$case.log" 2>&1 &
    jobs=$((jobs + 1))
    if [ $jobs -ge 2 ]; then wait; jobs=0; fi
done
wait
for f in tests/golden/cases/*.dnn; do
    cat "$tmp/$(basename "$f" .dnn).log" 2>/dev/null
done
# clang's check of each build's C (generated-c.md), a build kind in one
# clang run (tests/clang_check.sh); speed.avx is speed's C built with other
# flags, and the build every case has when the machine has AVX2
. tests/clang_check.sh
speed=speed
[ -n "$avx" ] && speed=speed.avx
for tag in embedded loaded.batch3 $speed; do
    # shellcheck disable=SC2046 # a list of files
    clang_check inference $(ls "$tmp"/*."$tag".c 2>/dev/null)
done
# every covering case ran its partial batch
for case in $covering; do
    [ -e "$data/$case.golden.safetensors" ] && ! grep -q "^[A-Z]* inference/$case.loaded.batch3" "$tmp/$case.log" &&
        echo "FAIL inference/$case.loaded.batch3: did not run"
done

# LeNet-5 at batch 1: the figures examples/firmware/README.md quotes
build/dnnc --inference models/lenet5.dnn -o "$tmp/lenet5.c" &&
ram=$(sed -n 's/.*float act\[\([0-9]*\)\].*(\([0-9]*\) without reuse.*/\1 \2/p' "$tmp/lenet5.h")
set -- $ram
if [ -n "$1" ] && [ "$(($1 * 4))" -le 12544 ]; then
    echo "PASS inference/lenet5_ram ($(($1 * 4)) bytes of activations; $(($2 * 4)) without reuse or fusion)"
else
    echo "FAIL inference/lenet5_ram: activations of $1 floats, want at most 3136 (12,544 bytes)"
fi

# --embed-weights is exact: every tensor of the file, bit for bit, in lenet5_weights
build/dnnc --inference --embed-weights $data/lenet5.weights.safetensors tests/golden/cases/lenet5.dnn -o "$tmp/emb.c"
cat >"$tmp/emb_main.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dnn_host.h"
#include "emb.h"
int main(int argc, char **argv) {
    void *buf;
    size_t len;
    static float copy[sizeof lenet5_weights / sizeof(float)];
    float *dst[LENET5_NUM_TENSORS];
    (void)argc;
    for (int i = 0; i < LENET5_NUM_TENSORS; i++)
        dst[i] = copy + (lenet5_tensor(NULL, i) - lenet5_weights);
    if (dnn_read_file_alloc(argv[1], &buf, &len) || dnn_safetensors_load(lenet5_tensors, dst, LENET5_NUM_TENSORS, buf, len))
        return 2;
    free(buf);
    return memcmp(copy, lenet5_weights, sizeof copy) != 0;
}
EOF2
if $cc $inc "$tmp/emb.c" "$tmp/emb_main.c" build/libdnnrt.a -lm -o "$tmp/emb" 2>"$tmp/emb.err" &&
   "$tmp/emb" $data/lenet5.weights.safetensors; then
    echo "PASS inference/embed_bit_exact ($(grep -c '0x' "$tmp/emb.c") lines of hex floats)"
else
    echo "FAIL inference/embed_bit_exact: $(head -1 "$tmp/emb.err")"
fi

# batchnorm folded into the conv2d before it when the weights are embedded (then
# conv2d -> relu -> maxpool fuse; the self-tests above check the numbers against
# PyTorch's eval outputs), its own step, in place over the conv's output, when
# they are loaded (PyTorch's tensors)
fold=$(build/dnnc --inference --embed-weights $data/bn_conv.weights.safetensors --emit=report tests/golden/cases/bn_conv.dnn)
loaded=$(build/dnnc --inference --emit=report tests/golden/cases/bn_conv.dnn)
if echo "$fold" | grep -q ' conv2d+batchnorm+relu+maxpool .* 60 ' && echo "$fold" | grep -q '^parameters: *86 ' &&
   echo "$loaded" | grep -q '^h\.1 .* batchnorm .* in place ' && ! echo "$fold" | grep -q '^h\.1 '; then
    echo "PASS inference/batchnorm_folded ($(echo "$fold" | grep -m1 '^RAM of'); loaded: $(echo "$loaded" | grep -m1 '^RAM of'))"
else
    echo "FAIL inference/batchnorm_folded: $(echo "$fold" | grep 'conv2d\|^parameters')"
fi
# ... but not when another step reads the conv's weight: it keeps its values
cat >"$tmp/shared.dnn" <<'EOF2'
model shared {
    input  x[2, 6, 6];
    target y[2];
    h = x |> conv2d(3, kernel = 3) |> batchnorm |> relu |> flatten |> dense(2);
    output h;
    output w = flatten(x) * l2(h.0.weight);
    loss mse(h, y);
}
EOF2
kept=$(build/dnnc --inference --embed-weights /dev/null --emit=report "$tmp/shared.dnn" 2>&1)
if echo "$kept" | grep -q '^h\.0 *conv2d ' && echo "$kept" | grep -q '^h\.1 *batchnorm '; then
    echo "PASS inference/batchnorm_not_folded (the conv's weight read by another output)"
else
    echo "FAIL inference/batchnorm_not_folded: $(echo "$kept" | grep '^h\.\|error')"
fi
