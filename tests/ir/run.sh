#!/bin/sh
# The IR passes as the outputs show them:
# - a penalty over a parameter set is one node: one --emit=summary row
#   ("l2(weights)"), one --emit=ir line listing the tensors, one step
#   function; its gradient nodes (one per tensor) are consecutive. Sets of
#   more than 46 tensors (MAX_PENALTY) become one node per tensor.
# - constant folding: arithmetic on constants (the backward graph's
#   1 · 0.0001) leaves no step function, its constant has the float bits
#   of the product; where float and double round apart it stays a step.
# The numbers are unchanged by both: scripts/same_numbers.sh.
cd "$(dirname "$0")/../.." || exit 2
here=tests/ir
dnnc=${DNNC:-build/dnnc}
case $dnnc in /*) ;; *) dnnc=$(pwd)/$dnnc ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}

pass() { echo "PASS ir/$1"; }
fail() { echo "FAIL ir/$1: $2"; }
# count NAME FILE REGEX N: N lines match
count() {
    n=$(grep -c -- "$3" "$2")
    if [ "$n" = "$4" ]; then pass "$1"; else fail "$1" "$n lines match '$3', expected $4"; fi
}
# compiles NAME FILE.c: warning-free C99
compiles() {
    if $CC -std=c99 -Wall -Wextra -Wpedantic -Werror -Iruntime -Ibuild -c "$2" -o "$tmp/o.o" 2>"$tmp/cc.err"; then
        pass "$1"
    else
        fail "$1" "$(head -n 1 "$tmp/cc.err")"
    fi
}

# ---- one node per penalty ------------------------------------------------------
f=$here/penalty3.dnn
$dnnc --emit=summary "$f" >"$tmp/p.summary" && $dnnc --emit=ir "$f" >"$tmp/p.ir" &&
    $dnnc -q "$f" -o "$tmp/penalty3.c" || fail penalty3 "dnnc failed"
count penalty3-summary-l2 "$tmp/p.summary" '^loss  *l2(weights)  *scalar  *0$' 1
count penalty3-summary-l1 "$tmp/p.summary" '^loss  *l1(params)  *scalar  *0$' 1
count penalty3-summary-rows "$tmp/p.summary" '^loss ' 3
count penalty3-ir-l2 "$tmp/p.ir" '^%[0-9]* = l2 %[0-9]*, %[0-9]*, %[0-9]* :' 1
count penalty3-ir-l1 "$tmp/p.ir" '^%[0-9]* = l1 %[0-9]*, %[0-9]*, %[0-9]*, %[0-9]*, %[0-9]*, %[0-9]* :' 1
count penalty3-ir-adds "$tmp/p.ir" '^%[0-9]* = add .*# line 8$' 2 # the loss's two sums, forward
count penalty3-step-l2 "$tmp/penalty3.c" '^static void penalty3_loss_l2_forward(' 1
count penalty3-step-l1 "$tmp/penalty3.c" '^static void penalty3_loss_l1_forward(' 1
# the gradient nodes of each penalty follow each other, so that emit_step.c
# prints them as one backward function with one call
for op in l2 l1; do
    lines=$(grep -n "= d_$op\." "$tmp/p.ir" | cut -d: -f1 | tr '\n' ' ')
    if echo "$lines" | awk '{ for (i = 2; i <= NF; i++) if ($i != $(i - 1) + 1) exit 1; exit NF < 3 }'; then
        pass "penalty3-$op-gradients-together"
    else
        fail "penalty3-$op-gradients-together" "d_$op lines: $lines"
    fi
done
count penalty3-l2-gradients "$tmp/penalty3.c" '^static void penalty3_loss_l2_backward(' 1
count penalty3-l1-gradients "$tmp/penalty3.c" '^static void penalty3_loss_l1_backward(' 1
compiles penalty3-compiles "$tmp/penalty3.c"

# ---- sets of 46 tensors (one node) and 47 (one node per tensor) ------------------
# deep N: N dense layers, only the first with a bias, l2 over their N weights
deep() {
    awk -v n="$1" 'BEGIN {
        print "model deep {\n    input x[4];\n    target y[2];\n    h0 = dense(x, 3);"
        for (i = 1; i < n - 1; i++) printf "    h%d = dense(h%d, 3, bias = false);\n", i, i - 1
        printf "    out = dense(h%d, 2, bias = false);\n    output out;\n", n - 2
        print "    loss mse(out, y) + 0.01 * l2(weights);\n    train { optimizer sgd(lr = 0.1); batch 2; epochs 1; }\n}" }'
}
deep 46 >"$tmp/deep46.dnn"
deep 47 >"$tmp/deep47.dnn"
$dnnc --emit=summary "$tmp/deep46.dnn" >"$tmp/d46.summary" && $dnnc --emit=summary "$tmp/deep47.dnn" >"$tmp/d47.summary" ||
    fail deep "dnnc failed"
count deep46-one-row "$tmp/d46.summary" 'l2(weights)' 1
count deep47-row-per-tensor "$tmp/d47.summary" 'l2(weights)' 47
# the largest gradient step (dy, 46 tensors, the result), with the double twin
(cd "$tmp" && $dnnc -q --main deep46.dnn -o deep46.c) || fail deep46-main "dnnc failed"
compiles deep46-main-compiles "$tmp/deep46.c"

# ---- constant folding --------------------------------------------------------------
$dnnc -q models/lenet5.dnn -o "$tmp/lenet5.c" && $dnnc --emit=ir models/lenet5.dnn >"$tmp/lenet5.ir" ||
    fail lenet5 "dnnc failed"
count lenet5-no-constant-step "$tmp/lenet5.c" '1.0f \* 9.99999975e-05f' 0
count lenet5-no-t-mul "$tmp/lenet5.c" '^static void lenet5_t_mul' 0
# the backward graph starts with its constants: 1 (the loss's gradient) and 1 · 0.0001
sed -n '/^# backward/,$p' "$tmp/lenet5.ir" >"$tmp/lenet5.backward"
count lenet5-folded-constant "$tmp/lenet5.backward" '^%[0-9]* = constant 0.0001 : \[\]' 1
count lenet5-no-constant-mul "$tmp/lenet5.backward" ' = mul ' 0
# ... printed with the float bits of 1.0f * 9.99999975e-05f, read as dy by the penalty's gradients
cat >"$tmp/product.c" <<'C'
#include <stdio.h>
int main(void) { volatile float a = 1.0f, b = 9.99999975e-05f; float p = a * b; printf("%.9g\n", (double)p); return 0; }
C
$CC -std=c99 -o "$tmp/product" "$tmp/product.c" && want=$("$tmp/product")
c=$(sed -n "s/^    lenet5_loss_l2_backward(.*, \(lenet5_c[0-9]*\), .*/\1/p" "$tmp/lenet5.c" | head -n 1)
got=$(sed -n "s/^static const float $c\[1\] = {\(.*\)f};/\1/p" "$tmp/lenet5.c")
if [ -n "$c" ] && [ "$got" = "$want" ]; then pass lenet5-folded-bits; else fail lenet5-folded-bits "dy is '$c' = '$got', want $want"; fi

f=$here/unfolded.dnn
$dnnc -q "$f" -o "$tmp/unfolded.c" && $dnnc --emit=ir "$f" >"$tmp/unfolded.ir" || fail unfolded "dnnc failed"
sed -n '/^# backward/,$p' "$tmp/unfolded.ir" >"$tmp/unfolded.backward"
count unfolded-one-mul "$tmp/unfolded.backward" ' = mul %[0-9]*, %[0-9]* : \[\]' 1
count unfolded-one-folded "$tmp/unfolded.backward" '^%[0-9]* = constant 0.1 : \[\]' 1
count unfolded-step "$tmp/unfolded.c" '^static void unfolded_t_mul(' 1
compiles unfolded-compiles "$tmp/unfolded.c"
