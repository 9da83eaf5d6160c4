#!/bin/sh
# tests/memory/run.sh — the activation plan (compiler/plan.c) as --emit=report
# prints it: the figures of models/mlp.dnn and models/lenet5.dnn pinned
# (expected.txt), training and --inference; for every model and golden case
# the arena within 1.1x of the lower bound (the most floats alive at once),
# the bound at most the no-reuse layout, and the generated header's act[] the size the
# report gives. (That every layout computes the right numbers is the golden
# suite's job: it runs each case's forward, loss, backward and steps.)
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
    got=$(build/dnnc $flag --emit=report models/$model.dnn 2>&1 | grep '^activations:')
    if [ "$got" = "$want" ]; then pass "$model.$mode"; else fail "$model.$mode" "got '$got', want '$want'"; fi
done <$here/expected.txt

# 1,500 dense+tanh layers: over 4,096 slices, placed in program order (plan.c)
awk 'BEGIN { print "model deep {\n    input x[4];\n    target y[2];"; printf "    h = x";
             for (i = 0; i < 1500; i++) printf " |> dense(4) |> tanh";
             print " |> dense(2);\n    output h;\n    loss mse(h, y);\n    train { optimizer sgd(lr = 0.1); batch 2; }\n}" }' >"$tmp/deep.dnn"

for f in models/*.dnn tests/golden/cases/*.dnn "$tmp/deep.dnn"; do
    name=$(basename "$f" .dnn)
    for flag in "" --inference; do
        mode=${flag:+inference}; mode=${mode:-training}
        line=$(build/dnnc $flag --emit=report "$f" 2>/dev/null | grep '^activations:')
        [ -n "$line" ] || continue # e.g. a model with no loss has no training report
        set -- $(echo "$line" | sed 's/[^0-9,]/ /g')
        act=$(num "$1") bound=$(num "$2") naive=$(num "$3")
        if [ $((act * 10)) -gt $((bound * 11)) ] || [ "$bound" -gt "$act" ] || [ "$bound" -gt "$naive" ]; then
            fail "$name.$mode.bound" "arena $act bytes, lower bound $bound, no reuse $naive"
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
