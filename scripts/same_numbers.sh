#!/bin/sh
# Checks that a change to the code dnnc writes left what that code
# computes as it was, bit for bit: every model of the tree (models/,
# examples/, tests/golden/cases, tests/snapshot/cases) is
# compiled by build/dnnc and by the dnnc of REF (default: where this branch
# left main), in each mode below, and run by the same driver, built by the
# same C compiler with the same flags; the drivers' outputs must be the same
# bytes. A driver (written from the model's header) initialises the model
# with a seed, trains 3 steps on fixed pseudo-random data, prints each loss
# as a hexadecimal float, a hash of every gradient, of the outputs of a
# full and a partial batch, and of every tensor after training. With
# --main the training program's gradcheck (the double-precision twin's
# gradients and the float model's, their worst differences) is compared too.
#
#   sh scripts/same_numbers.sh [--ref REF] [--quick] [FILE.dnn ...]
#       modes: speed (plain C and AVX2+FMA), --optimize=size, --inference
#       (speed and size), --main (gradcheck: the double twin), embedded
#       weights; models/ also with clang, -DDNN_PORTABLE, -Os,
#       --check-finite and --batch; --quick: speed only
#   prints the differences and "N runs, all the same", or exits 1.
#
# The old side's results are cached by REF's commit in $TMPDIR.
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
ref=$(git merge-base HEAD main 2>/dev/null || echo main) quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --ref) ref=$2 && shift 2 ;;
    --quick) quick=1 && shift ;;
    *) break ;;
    esac
done
commit=$(git rev-parse --verify "$ref^{commit}") || exit 2
cache=${TMPDIR:-/tmp}/dnnc-numbers-$commit
old=${TMPDIR:-/tmp}/dnnc-same-$commit # shared with scripts/same_output.sh
if [ ! -x "$old/build/dnnc" ] || [ ! -f "$old/build/libdnnrt.a" ]; then
    { [ -d "$old" ] || { mkdir -p "$old" && git archive "$commit" | tar -x -C "$old"; }; } || exit 2
    (cd "$old" && make -j2 build/dnnc build/libdnnrt.a >/dev/null 2>&1) || { echo "cannot build $ref in $old"; exit 2; }
fi
[ -x build/dnnc ] && [ -f build/libdnnrt.a ] || { echo "build/dnnc is not built (run make)"; exit 2; }
mkdir -p "$cache"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# driver H: a C program exercising the model of header H (prefix net)
driver() {
    awk -v train="$(grep -c 'net_train_step(' "$1")" -v grads="$(grep -c 'net_grad(' "$1")" -v header="$(basename "$1")" '
    BEGIN { ni = nt = no = 0 }
    /^#define NET_[A-Z0-9_]+_SIZE [0-9]+ \/\* per-sample elements of input / { ins[ni++] = $2 }
    /^#define NET_[A-Z0-9_]+_SIZE [0-9]+ \/\* per-sample elements of target / { tgs[nt] = $2; cls[nt++] = "" }
    /^#define NET_[A-Z0-9_]+_SIZE [0-9]+ \/\* target .*class index/ { tgs[nt] = $2; c = $2; sub(/_SIZE$/, "_CLASSES", c); cls[nt++] = c }
    /^#define NET_[A-Z0-9_]+_SIZE [0-9]+ \/\* per-sample elements of output / { outs[no++] = $2 }
    END {
        print "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n#include \"" header "\""
        print "static net_model m;"
        for (i = 0; i < ni; i++) print "static float in" i "[NET_BATCH * " ins[i] "];"
        for (i = 0; i < nt; i++) print "static " (cls[i] ? "int32_t" : "float") " tg" i "[NET_BATCH * " tgs[i] "];"
        for (i = 0; i < no; i++) print "static float out" i "[NET_BATCH * " outs[i] "];"
        print "static uint32_t r = 12345;"
        print "static float draw(void) { r = r * 1664525u + 1013904223u; return (float)(r >> 8) / 8388608.0f - 1.0f; }"
        print "static void hash(const char *what, const void *p, size_t len) {"
        print "    uint64_t h = 1469598103934665603u; const unsigned char *b = p;"
        print "    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 1099511628211u;"
        print "    printf(\"%s %016llx\\n\", what, (unsigned long long)h);\n}"
        print "int main(void) {"
        for (i = 0; i < ni; i++) print "    for (int i = 0; i < NET_BATCH * " ins[i] "; i++) in" i "[i] = draw();"
        for (i = 0; i < nt; i++)
            if (cls[i]) print "    for (int i = 0; i < NET_BATCH; i++) tg" i "[i] = (int32_t)(r = r * 1664525u + 1013904223u, (r >> 8) % " cls[i] ");"
            else print "    for (int i = 0; i < NET_BATCH * " tgs[i] "; i++) tg" i "[i] = draw() * 0.5f + 0.5f;"
        fw = "&m"; for (i = 0; i < ni; i++) fw = fw ", in" i
        tr = fw; for (i = 0; i < nt; i++) tr = tr ", tg" i
        for (i = 0; i < no; i++) fw = fw ", out" i
        print "    net_init(&m, 7);"
        if (train) {
            print "    for (int s = 0; s < 3; s++) printf(\"loss %a\\n\", (double)net_train_step(" tr ", NET_BATCH));"
            print "    printf(\"eval loss %a\\n\", (double)net_loss(" tr ", NET_BATCH));"
            print "    printf(\"partial loss %a\\n\", (double)net_backward(" tr ", (NET_BATCH + 1) / 2 > 1 ? (NET_BATCH + 1) / 2 : 2 > NET_BATCH ? 1 : 2));"
            print "    printf(\"loss %a\\n\", (double)net_backward(" tr ", NET_BATCH));"
            if (grads) print "    for (int i = 0; i < NET_NUM_TENSORS; i++) if (net_grad(&m, i)) hash(net_tensors[i].name, net_grad(&m, i), sizeof(float) * (size_t)net_tensors[i].size);"
            print "    net_step(&m);"
        }
        print "    net_forward(" fw ", NET_BATCH);"
        for (i = 0; i < no; i++) print "    hash(\"output " i "\", out" i ", sizeof out" i ");"
        print "    memset(out0, 0, sizeof out0);"
        print "    net_forward(" fw ", 1);"
        for (i = 0; i < no; i++) print "    hash(\"output " i " of one sample\", out" i ", sizeof out" i ");"
        print "    for (int i = 0; i < NET_NUM_TENSORS; i++) hash(net_tensors[i].name, net_tensor(&m, i), sizeof(float) * (size_t)net_tensors[i].size);"
        print "    return 0;\n}"
    }' "$1"
}

# run SIDE FILE MODE BUILD: compiles FILE with SIDE's dnnc in MODE, builds it with BUILD, runs it; output on stdout
run() {
    side=$1 file=$2 mode=$3 build=$4
    dir=$tmp/$side.$$.$(echo "$file $mode $build" | cksum | cut -d' ' -f1)
    rm -rf "$dir" && mkdir -p "$dir"
    dnnc=$root/build/dnnc lib=$root/build/libdnnrt.a inc=$root/runtime
    [ "$side" = old ] && dnnc=$old/build/dnnc lib=$old/build/libdnnrt.a inc=$old/runtime
    cc=cc
    case $build in
    plain) flags="-O2" ;;
    avx2) flags="-O2 -mavx2 -mfma" ;;
    portable) flags="-O2 -mavx2 -mfma -DDNN_PORTABLE" ;;
    clang) cc=clang flags="-O2 -mavx2 -mfma" ;;
    small) flags="-Os -mavx2 -mfma" ;;
    esac
    w=$root/tests/golden/data/$(basename "$file" .dnn).weights.safetensors
    # shellcheck disable=SC2086 # $mode is a list of options
    (cd "$dir" && "$dnnc" -q --prefix net $(echo "$mode" | sed "s#@W#$w#") "$root/$file" -o net.c) >"$dir/err" 2>&1 ||
        { echo "dnnc failed: $(head -n 1 "$dir/err" | sed "s#$dir/##g")"; rm -rf "$dir"; return; }
    case $mode in
    *--main*)
        # shellcheck disable=SC2086
        $cc -std=c99 $flags -w -I"$inc" "$dir/net.c" "$lib" -lz -lm -o "$dir/prog" 2>"$dir/err" ||
            { echo "cc failed: $(head -n 1 "$dir/err" | sed "s#$dir/##g")"; rm -rf "$dir"; return; }
        . "$root/tests/random_data.sh"
        data "$dir/prog" "$dir/data.csv" "$file"
        (cd "$dir" && ./prog gradcheck data.csv 2>&1 | sed 's#/[^ ]*/##g') ;;
    *)
        driver "$dir/net.h" >"$dir/driver.c"
        # shellcheck disable=SC2086
        $cc -std=c99 $flags -w -I"$inc" -I"$dir" "$dir/driver.c" "$dir/net.c" "$lib" -lm -o "$dir/prog" 2>"$dir/err" ||
            { echo "cc failed: $(head -n 1 "$dir/err" | sed "s#$dir/##g")"; rm -rf "$dir"; return; }
        "$dir/prog" 2>&1 ;;
    esac
    rm -rf "$dir"
}

# one FILE|MODE|BUILD: both sides (the old one from the cache), DIFFERENT when they differ
one() {
    file=${1%%|*} rest=${1#*|}
    mode=${rest%%|*} build=${rest#*|}
    key=$cache/$(echo "$file|$mode|$build" | cksum | cut -d' ' -f1)
    [ -f "$key" ] || { run old "$file" "$mode" "$build" >"$key.$$" && mv "$key.$$" "$key"; }
    run new "$file" "$mode" "$build" >"$tmp/new.$$"
    if cmp -s "$key" "$tmp/new.$$"; then
        echo "same: $file $mode ($build)"
    else
        echo "DIFFERENT: $file $mode ($build)"
        diff "$key" "$tmp/new.$$" | head -n 8 | sed 's/^/    /'
    fi
    rm -f "$tmp/new.$$"
}

if [ "$1" = --one ]; then # a job of the list below (xargs)
    one "$2"
    exit 0
fi

if [ $# -gt 0 ]; then
    files=$*
else
    files=$(ls models/*.dnn examples/*/*.dnn tests/golden/cases/*.dnn tests/snapshot/cases/*.dnn)
fi
modes='|plain
|avx2'
[ $quick = 1 ] || modes="$modes
--optimize=size|avx2
--inference|avx2
--inference --optimize=size|avx2
--main|plain"
for f in $files; do
    echo "$modes" | while IFS= read -r m; do
        echo "$f|$m"
    done
    w=tests/golden/data/$(basename "$f" .dnn).weights.safetensors
    if [ $quick = 0 ] && [ -f "$w" ] && [ "${f#tests/golden/}" != "$f" ]; then
        echo "$f|--embed-weights @W --inference|avx2"
    fi
    case $f in models/*) [ $quick = 1 ] || printf '%s\n' "$f|--check-finite|avx2" "$f|--inference --batch 3|plain" \
        "$f|--optimize=size|small" "$f||clang" "$f||portable" ;; esac
done >"$tmp/jobs"
export TMPDIR
tr '\n' '\0' <"$tmp/jobs" | nice xargs -0 -P 2 -n 1 sh "$0" --ref "$commit" --one >"$tmp/log"
grep -v '^same: ' "$tmp/log"
runs=$(grep -c '' "$tmp/jobs") bad=$(grep -c '^DIFFERENT' "$tmp/log")
echo "$runs runs: $bad gave different numbers"
[ "$bad" -eq 0 ]
