#!/bin/sh
# tests/memory/run.sh — the activation plan (compiler/plan.c) as --emit=report
# prints it: the figures of models/mlp.dnn and models/lenet5.dnn pinned
# (expected.txt), training and --inference, and of the MLPerf Tiny networks
# with --inference --optimize=size (convolutions over their input, outputs in
# the caller's array: below onnx2c's RAM, docs/firmware.md); for every model and golden case
# the arena within 1.1x of the lower bound (the most floats alive at once),
# the bound at most the no-reuse layout, the report's RAM lower bound (from
# the steps alone, not the plan) at most the plan's RAM and activations, and the generated header's act[] the size the
# report gives; and the report's "RAM of the model" equal to sizeof(NAME_model),
# part by part (below). (That every layout computes the right numbers is the
# golden suite's job: it runs each case's forward, loss, backward and steps.)
cd "$(dirname "$0")/../.." || exit 2
here=tests/memory
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS memory/$1"; }
fail() { echo "FAIL memory/$1: $2"; }

# bytes "12,345" -> 12345
num() { echo "$1" | tr -d ,; }

while IFS= read -r line; do
    model=${line%% *} rest=${line#* } mode=${rest%%:*} want=${rest#*: }
    flag=; [ "$mode" = inference ] && flag=--inference
    [ "$mode" = inference-size ] && flag="--inference --optimize=size" # convs over their input (firmware's default)
    got=$(build/dnnc $flag --emit=report models/$model.dnn 2>&1 | grep '^activations:')
    if [ "$got" = "$want" ]; then pass "$model.$mode"; else fail "$model.$mode" "got '$got', want '$want'"; fi
done <$here/expected.txt

# 1,500 dense+tanh layers: over 4,096 slices, placed in program order (plan.c)
awk 'BEGIN { print "model deep {\n    input x[4];\n    target y[2];"; printf "    h = x";
             for (i = 0; i < 1500; i++) printf " |> dense(4) |> tanh";
             print " |> dense(2);\n    output h;\n    loss mse(h, y);\n    train { optimizer sgd(lr = 0.1); batch 2; }\n}" }' >"$tmp/deep.dnn"

for f in models/*.dnn tests/golden/cases/*.dnn "$tmp/deep.dnn"; do
    name=$(basename "$f" .dnn)
    for flag in "" --inference --inference=size; do
        mode=${flag:+inference}; mode=${mode:-training}
        [ "$flag" = --inference=size ] && flag="--inference --optimize=size" mode=inference-size
        line=$(build/dnnc $flag --emit=report "$f" 2>/dev/null | grep '^activations:')
        [ -n "$line" ] || continue # e.g. a model with no loss has no training report
        set -- $(echo "$line" | sed 's/[^0-9,]/ /g')
        act=$(num "$1") bound=$(num "$2") naive=$(num "$3")
        if [ $((act * 10)) -gt $((bound * 11)) ] || [ "$bound" -gt "$act" ] || [ "$bound" -gt "$naive" ]; then
            fail "$name.$mode.bound" "arena $act bytes, lower bound $bound, no reuse $naive"
            continue
        fi
        ram=$(build/dnnc $flag --emit=report "$f" 2>/dev/null | sed -n 's/^RAM of the model: \([0-9]*\) bytes$/\1/p')
        low=$(build/dnnc $flag --emit=report "$f" 2>/dev/null | sed -n 's/^RAM lower bound: \([0-9]*\) bytes (.* activations \([0-9]*\):.*/\1 \2/p')
        set -- $low
        if [ -z "$low" ] || [ "$1" -gt "$ram" ] || [ "$2" -gt "$act" ]; then
            fail "$name.$mode.ram_bound" "RAM lower bound '$low' (total, activations) above the plan's $ram B (activations $act)"
            continue
        fi
        build/dnnc $flag "$f" -o "$tmp/$name.c" 2>/dev/null
        floats=$(sed -n 's/.*float act\[\([0-9]*\)\].*/\1/p' "$tmp/$name.h")
        if [ "$act" -gt 0 ] && [ "$((floats * 4))" -ne "$act" ]; then
            fail "$name.$mode.header" "act[$floats] in the header, $act bytes in the report"
        else
            pass "$name.$mode ($act bytes, lower bound $bound)"
        fi
    done
done

# --emit=report's "RAM of the model: N bytes" is sizeof(NAME_model) exactly, and its
# parts add up to N, in every kind of build: training with SGD, momentum, Adam,
# RMSprop's two states, batchnorm buffers and frozen layers; --inference, with
# --embed-weights (then "frozen weights" in flash), --optimize, --check-finite (a
# pointer) and --batch. sizeof comes from the generated header compiled by cc, and by
# arm-none-eabi-gcc for a Cortex-M4 when installed: the same but for the 4-byte pointer
# of --check-finite next to embedded weights (no 8-byte member to pad it to 8).
arm=; command -v arm-none-eabi-gcc >/dev/null && arm=arm-none-eabi-gcc
g=tests/golden/cases d=tests/golden/data
ram_case() { # ram_case NAME FILE.dnn FLAGS...
    name=$1 f=$2; shift 2
    rm -f "$tmp/r.c" "$tmp/r.h"
    if ! build/dnnc "$@" --emit=report "$f" >"$tmp/report" 2>"$tmp/err" || ! build/dnnc "$@" "$f" -o "$tmp/r.c" 2>>"$tmp/err"; then
        fail "ram.$name" "dnnc: $(head -n 1 "$tmp/err")"
        return
    fi
    model=$(sed -n '1s/^model \([A-Za-z0-9_]*\):.*/\1/p' "$tmp/report")
    n=$(sed -n 's/^RAM of the model: \([0-9]*\) bytes$/\1/p' "$tmp/report")
    parts=$(awk '/^  [a-z ]*: [0-9]+ bytes$/ { sum += $(NF - 1) } END { print sum }' "$tmp/report")
    printf '#include <stdio.h>\n#include "r.h"\nint main(void) { printf("%%zu\\n", sizeof(%s_model)); return 0; }\n' \
        "$model" >"$tmp/size.c"
    if ! ${CC:-cc} -std=c99 -Iruntime -I"$tmp" "$tmp/size.c" -o "$tmp/size" 2>"$tmp/err"; then
        fail "ram.$name" "cc: $(head -n 1 "$tmp/err")"
        return
    fi
    size=$("$tmp/size")
    arm_size=$size
    if [ -n "$arm" ] && [ -n "$n" ]; then # the compile fails unless sizeof is n on the Cortex-M4 too
        printf '#include "r.h"\ntypedef char size_is_%s[sizeof(%s_model) == %s ? 1 : -1];\n' "$n" "$model" "$n" >"$tmp/arm.c"
        case " $* " in *" --check-finite "*" --embed-weights "*|*" --embed-weights "*" --check-finite "*) ;; *)
            $arm -std=c99 -mcpu=cortex-m4 -mthumb -Iruntime -I"$tmp" -c "$tmp/arm.c" -o "$tmp/arm.o" 2>/dev/null || arm_size="not $n";;
        esac
    fi
    json=$(build/dnnc "$@" --emit=report-json "$f" 2>/dev/null | grep -c "^  \"ram\": {\"bytes\": $size, ")
    if [ -n "$n" ] && [ "$n" = "$size" ] && [ "$parts" = "$n" ] && [ "$arm_size" = "$size" ] && [ "$json" = 1 ]; then
        pass "ram.$name ($n bytes)"
    else
        fail "ram.$name" "report ${n:-?} bytes, parts add up to ${parts:-?}, sizeof($model) $size, on a Cortex-M4 $arm_size, report-json's ram.bytes $([ "$json" = 1 ] || echo not) $size"
    fi
}
for m in xor iris mlp lenet5 diabetes; do
    ram_case "$m" models/$m.dnn
    ram_case "$m.inference" models/$m.dnn --inference
done
ram_case mlp.check_finite models/mlp.dnn --check-finite
ram_case mlp.inference_check_finite models/mlp.dnn --inference --check-finite
ram_case xor.batch3 models/xor.dnn --batch 3
ram_case lenet5.optimize_size models/lenet5.dnn --optimize=size
ram_case bn_conv.adam_buffers $g/bn_conv.dnn
ram_case bn_conv.embedded $g/bn_conv.dnn --inference --embed-weights $d/bn_conv.weights.safetensors
ram_case lenet5.embedded $g/lenet5.dnn --inference --embed-weights $d/lenet5.weights.safetensors
ram_case lenet5.embedded_speed $g/lenet5.dnn --inference --embed-weights $d/lenet5.weights.safetensors --optimize=speed
ram_case lenet5.embedded_check_finite $g/lenet5.dnn --inference --embed-weights $d/lenet5.weights.safetensors --check-finite
ram_case iris.inference_check_finite models/iris.dnn --inference --check-finite
ram_case rmsprop_momentum $g/opt_rmsprop_momentum.dnn
ram_case sgd_momentum.check_finite $g/opt_sgd_momentum.dnn --check-finite
ram_case op_scalar $g/op_scalar.dnn
ram_case frozen tests/diag/valid/freeze_layers.dnn
# the frozen layers are counted as such
if build/dnnc --emit=report tests/diag/valid/freeze_layers.dnn 2>/dev/null | grep -q '^  frozen weights: 1120 bytes$'; then
    pass ram.frozen_part
else
    fail ram.frozen_part "no '  frozen weights: 1120 bytes' (the encoder's 8*16+16 + 16*8+8 floats)"
fi
