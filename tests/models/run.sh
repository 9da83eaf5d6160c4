#!/bin/sh
# Every model in models/, examples/ and tests/models/ compiles; its C builds warning-free
# with gcc and clang as the contract requires; output is byte-identical
# across runs; summaries show the expected shapes and parameter counts.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dnnc=build/dnnc
flags="-std=c99 -Wall -Wextra -Wpedantic -Werror -Iruntime"

for f in models/*.dnn examples/*/*.dnn tests/models/*.dnn; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .dnn)
    if ! $dnnc --emit=summary "$f" >"$tmp/$name.summary" 2>"$tmp/$name.err"; then
        echo "FAIL models/$name summary: $(head -1 "$tmp/$name.err")"; continue
    fi
    echo "PASS models/$name summary"
    if ! $dnnc "$f" -o "$tmp/$name.c" 2>"$tmp/$name.err"; then
        if grep -q "not supported by the C emitter yet" "$tmp/$name.err"; then
            echo "SKIP models/$name c: $(grep -o '[a-z0-9_]*() is not supported' "$tmp/$name.err" | head -1) yet"
        else
            echo "FAIL models/$name c: $(head -1 "$tmp/$name.err")"
        fi
        continue
    fi
    for cc in gcc clang; do
        command -v $cc >/dev/null || { echo "SKIP models/$name $cc: not installed"; continue; }
        if $cc $flags -c "$tmp/$name.c" -o "$tmp/$name.o" 2>"$tmp/$name.cc"; then
            echo "PASS models/$name $cc -Werror"
        else
            echo "FAIL models/$name $cc -Werror: $(head -1 "$tmp/$name.cc")"
        fi
    done
    cp "$tmp/$name.c" "$tmp/$name.first.c"; cp "$tmp/$name.h" "$tmp/$name.first.h"
    $dnnc "$f" -o "$tmp/$name.c" 2>/dev/null
    if cmp -s "$tmp/$name.c" "$tmp/$name.first.c" && cmp -s "$tmp/$name.h" "$tmp/$name.first.h"; then
        echo "PASS models/$name deterministic"
    else
        echo "FAIL models/$name deterministic: two runs gave different bytes"
    fi
    if grep -Eqw 'malloc|calloc|realloc|free|printf|fopen|FILE' "$tmp/$name.c"; then
        echo "FAIL models/$name freestanding: uses malloc or stdio"
    else
        echo "PASS models/$name freestanding"
    fi
done

# LeNet-5: the shapes of language.md §1 and 61,706 parameters
s="$tmp/lenet5.summary"
ok=1
for want in "features.0 *conv2d *\[6, 28, 28\]" "features.2 *maxpool *\[6, 14, 14\]" \
            "features.3 *conv2d *\[16, 10, 10\]" "features.5 *maxpool *\[16, 5, 5\]" \
            "classifier.0 *flatten *\[400\]" "classifier.1 *dense *\[120\] *48,120" \
            "classifier.3 *dense *\[84\]" "classifier.5 *dense *\[10\]" "total parameters: *61,706"; do
    grep -q "$want" "$s" || { ok=0; echo "FAIL models/lenet5 shapes: no line matching '$want'"; }
done
[ $ok = 1 ] && echo "PASS models/lenet5 shapes and 61,706 parameters"
grep -q "total parameters: *109,386" "$tmp/mlp.summary" && echo "PASS models/mlp 109,386 parameters" \
    || echo "FAIL models/mlp parameter count: $(grep total "$tmp/mlp.summary")"

# The MLPerf Tiny v1.1 reference networks: the trainable parameters of the
# Keras models (issue 19; bench/mlperf/twins.py counts its PyTorch twins)
for pair in ds_cnn:23,756 resnet8:78,186 mobilenet_v1_025:216,322 fc_autoencoder:267,928; do
    name=${pair%%:*} want=${pair#*:}
    if grep -q "^trainable parameters: *$want\$" "$tmp/$name.summary" 2>/dev/null; then
        echo "PASS models/$name $want parameters"
    else
        echo "FAIL models/$name parameter count: $(grep trainable "$tmp/$name.summary" 2>/dev/null), want $want"
    fi
done
