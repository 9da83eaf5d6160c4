#!/bin/sh
# dnnc as a build tool: -M/-MD/-MF/-MT/-MP and --emit=deps, Make rebuilding
# when the model or its embedded weights change, --prefix, standard input,
# -q, deterministic output and the header comment of generated files.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dnnc=$(pwd)/build/dnnc
pass() { echo "PASS cli/$1"; }
fail() { echo "FAIL cli/$1: $2"; }
check() { # check NAME CONDITION-COMMAND...
    name=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "$*"; fi
}

cp models/xor.dnn "$tmp/my net.dnn"
cp tests/golden/cases/xor.dnn tests/golden/data/xor.weights.safetensors "$tmp/"
cd "$tmp" || exit 2

"$dnnc" -M xor.dnn >m.out
check M_rule grep -qx 'xor.c xor.h: \\' m.out
check M_writes_nothing test ! -e xor.c
"$dnnc" --emit=deps xor.dnn >e.out
check emit_deps cmp -s m.out e.out
"$dnnc" -M -MT 'obj/xor.o' -MT xor.c -MF custom.d xor.dnn
check MT_MF grep -q '^obj/xor.o xor.c: ' custom.d
"$dnnc" -M "my net.dnn" >s.out
check M_escapes_spaces grep -q 'my\\ net.dnn' s.out
"$dnnc" -MD -MP --inference --embed-weights xor.weights.safetensors xor.dnn -o gen.c
check MD_lists_weights grep -q 'xor.weights.safetensors' gen.d
check MD_compiles test -s gen.c -a -s gen.h
check MP_phony grep -qx 'xor.weights.safetensors:' gen.d

# make rebuilds when the model or the embedded weights change
cat >Makefile <<'EOF2'
DNNC ?= dnnc
all: net.o
net.c net.h: xor.dnn
	$(DNNC) -MD -MP --inference --embed-weights xor.weights.safetensors xor.dnn -o net.c
net.o: net.c
	$(CC) -std=c99 -c -I$(RUNTIME) net.c -o net.o
-include net.d
EOF2
make -s DNNC="$dnnc" RUNTIME="$OLDPWD/runtime" >/dev/null 2>&1
first=$(cat net.c | cksum)
make -s DNNC="$dnnc" RUNTIME="$OLDPWD/runtime" >make2.out 2>&1
check make_nothing_to_do test ! -s make2.out
sleep 1; touch xor.weights.safetensors
if make DNNC="$dnnc" RUNTIME="$OLDPWD/runtime" 2>&1 | grep -q 'dnnc'; then pass make_rebuilds_on_weights; else fail make_rebuilds_on_weights "no dnnc run"; fi
sleep 1; sed 's/dense(x, 4)/dense(x, 5)/' xor.dnn >x.tmp && mv x.tmp xor.dnn
if make DNNC="$dnnc" RUNTIME="$OLDPWD/runtime" 2>&1 | grep -q 'dnnc'; then pass make_rebuilds_on_model; else fail make_rebuilds_on_model "no dnnc run"; fi

# every --emit kind honours -o as gcc -E -o does: the text goes to the file, none to stdout
for kind in summary ir report report-json dot deps summary,dot; do
    "$dnnc" --emit=$kind xor.dnn >want.txt 2>/dev/null
    rm -f got.txt
    "$dnnc" --emit=$kind xor.dnn -o got.txt >stdout.txt 2>/dev/null
    if [ -s want.txt ] && cmp -s want.txt got.txt && [ ! -s stdout.txt ] && [ ! -e got.h ]; then
        pass "emit_o_$kind"
    else
        fail "emit_o_$kind" "$(wc -c <stdout.txt) bytes on stdout, file: $(ls got.txt 2>&1)"
    fi
done
"$dnnc" -M xor.dnn -o rule.d >stdout.txt
check M_o_writes_rule sh -c "cmp -s rule.d m.out && [ ! -s stdout.txt ]"
# with the C, -o names the C and the other kinds go to stdout
"$dnnc" --emit=c,report xor.dnn -o both.c >both.txt
check emit_c_and_report sh -c "grep -q xor_forward both.c && grep -q '^RAM of the model: ' both.txt"

# --prefix renames every C symbol
"$dnnc" --prefix robot_arm xor.dnn -o p.c
if grep -q 'robot_arm_forward' p.h && ! grep -q 'xor_' p.h p.c; then pass prefix; else fail prefix "xor_ names left"; fi
if "$dnnc" --prefix 9x xor.dnn -o q.c 2>q.err; then fail prefix_checked "accepted 9x"; else
    check prefix_checked grep -q "not a C identifier" q.err; fi

# standard input, and -o required then
"$dnnc" - -o in.c <xor.dnn && check stdin grep -q 'from <stdin>' in.c
if "$dnnc" - <xor.dnn 2>in.err; then fail stdin_needs_o "accepted"; else check stdin_needs_o grep -q "give the C file's name with -o" in.err; fi
printf 'model m { input x[2]; out = x +; }\n' | "$dnnc" - -o bad.c 2>bad.err
check stdin_diagnostic grep -q '^<stdin>:1:' bad.err

# -o -: one self-contained C file on standard output (the header's text
# first), nothing at all on it when there is an error
"$dnnc" xor.dnn -o - >whole.c
check stdout_no_header_file test ! -e xor.h -a ! -e model.h
check stdout_self_contained ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$OLDPWD/runtime" -c whole.c -o whole.o
printf 'model m { input x[2]; out = x +; }\n' | "$dnnc" - -o - >bad.out 2>/dev/null
check stdout_empty_on_error test ! -s bad.out
"$dnnc" xor.dnn -o - --header named.h >named.c
check stdout_with_header grep -q '^#include "named.h"' named.c

# -q: errors only
printf 'model m { input x[2]; input unused[3]; target y[1]; out = dense(x, 1); output out; loss mse(out, y); train { optimizer sgd(lr = 0.1); } }\n' >w.dnn
"$dnnc" w.dnn -o w.c 2>w1.err; "$dnnc" -q w.dnn -o w.c 2>w2.err
if [ -s w1.err ] && [ ! -s w2.err ]; then pass quiet; else fail quiet "warnings: $(wc -c <w1.err) bytes, with -q $(wc -c <w2.err)"; fi

# deterministic, and stamped with the version and the command line (no dates)
"$dnnc" --inference xor.dnn -o d1.c && cp d1.c first.c && cp d1.h first.h
"$dnnc" --inference xor.dnn -o d1.c
check deterministic cmp -s d1.c first.c
check deterministic_header cmp -s d1.h first.h
check stamp_version grep -q "Generated by dnnc $("$dnnc" --version | cut -d' ' -f2)" d1.c
check stamp_command grep -q ' \* dnnc --inference xor.dnn -o d1.c' d1.c
if grep -q '20[0-9][0-9]-[0-9][0-9]' d1.c d1.h; then fail no_dates "a date in the output"; else pass no_dates; fi

# no lost work: a write that fails half-way (past `ulimit -f`) and SIGINT while the outputs
# are being written leave neither a partial file nor a temporary one, and the old outputs stay
awk 'BEGIN { printf "model m {\n    input x[2];\n    target y[2];\n    h = dense(x, 2)"
             for (i = 0; i < 100000; i++) printf " + x"
             printf ";\n    output h;\n    loss mse(h, y);\n}\n" }' >long.dnn
mkdir -p lost && cd lost || exit 2
echo old >long.c && echo old >long.h
( ulimit -f 64; exec "$dnnc" ../long.dnn -o long.c ) 2>full.err
rc=$?
if [ $rc -eq 3 ] && grep -q "cannot write 'long.c': File too large" full.err &&
   [ "$(ls | tr '\n' ' ')" = "full.err long.c long.h " ] && [ "$(cat long.c long.h)" = "old
old" ]; then
    pass write_error_leaves_nothing
else
    fail write_error_leaves_nothing "exit $rc, files: $(ls | tr '\n' ' '), $(head -n 1 full.err)"
fi
rm -f full.err
# SIGINT while the outputs are being written: the header is a FIFO nobody reads, so
# dnnc waits to open it with the C's temporary file made; the signal removes that file
mkfifo wait.h
"$dnnc" ../long.dnn -o long.c --header wait.h &
pid=$!
while kill -0 $pid 2>/dev/null && ! ls long.c.*.tmp >/dev/null 2>&1; do sleep 0.01; done
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
rm -f wait.h
if [ $rc -eq 130 ] && [ "$(ls | tr '\n' ' ')" = "long.c long.h " ] && [ "$(cat long.c)" = old ]; then
    pass sigint_leaves_nothing
else
    fail sigint_leaves_nothing "exit $rc, files: $(ls | tr '\n' ' ')"
fi
cd .. || exit 2

# --quantize=int8 (generated-c.md §int8): the options it needs, the calibration
# file's errors (exit 1, nothing written), an op without an int8 form between
# int8 layers, and a small model that compiles warning-free and runs
root=$(dirname "$(dirname "$dnnc")")
mkdir -p "$tmp/q8" && cd "$tmp/q8" || exit 2
# st FILE BYTES NAME:DIMS ...: a safetensors file of F32 tensors whose
# elements are BYTES, 4 bytes a float (printf octal escapes), several of them
# (separated by spaces) taken in turn; $meta, if set, its __metadata__ pairs
# ("key":"value",...)
st() {
    file=$1 bytes=$2 header=${meta:+\"__metadata__\":\{$meta\}} off=0
    shift 2
    for t in "$@"; do
        n=1
        for d in $(echo "${t#*:}" | tr ',' ' '); do n=$((n * d)); done
        header="$header${header:+,}\"${t%%:*}\":{\"dtype\":\"F32\",\"shape\":[${t#*:}],\"data_offsets\":[$off,$((off + 4 * n))]}"
        off=$((off + 4 * n))
    done
    header="{$header}"
    len=${#header}
    { printf "\\$(printf %o $((len % 256)))\\$(printf %o $((len / 256)))\\0\\0\\0\\0\\0\\0%s" "$header"
      i=0; while [ $i -lt $((off / 4)) ]; do
          for b in $bytes; do [ $i -lt $((off / 4)) ] && printf "$b"; i=$((i + 1)); done
      done; } >"$file"
}
one='\0\0\200\77' half='\0\0\0\77' nan='\0\0\300\177' minus_quarter='\0\0\200\276'
cat >q.dnn <<'EOF2'
model q {
    input  x[2];
    target y[1];
    h = relu(dense(x, 4));
    output out = dense(h, 1);
    loss mse(out, y);
}
EOF2
st w.safetensors "$half" h.weight:4,2 h.bias:4 out.weight:1,4 out.bias:1
st cal.safetensors "$one" x:3,2
q8() { # q8 NAME WANT-STATUS MESSAGE-PATTERN dnnc-ARGS...: the status and message, and no q.c
    name=$1 want=$2 pattern=$3
    shift 3
    rm -f q.c q.h
    "$dnnc" "$@" q.dnn -o q.c 2>err.txt
    rc=$?
    if [ $rc -eq "$want" ] && grep -q -- "$pattern" err.txt && [ ! -e q.c ] && [ ! -e q.h ]; then
        pass "quantize_$name"
    else
        fail "quantize_$name" "exit $rc, files: $(ls q.c q.h 2>/dev/null | tr '\n' ' '), $(head -n 1 err.txt)"
    fi
}
all="--inference --embed-weights w.safetensors --calibrate cal.safetensors"
q8 not_int4 2 "dnnc: error: --quantize takes int8, not 'int4'" --quantize=int4 $all
q8 needs_inference 2 "needs --inference" --quantize=int8 --embed-weights w.safetensors --calibrate cal.safetensors
q8 needs_weights 2 "needs --embed-weights FILE" --quantize=int8 --inference --calibrate cal.safetensors
q8 needs_calibrate 2 "needs --calibrate FILE" --quantize=int8 --inference --embed-weights w.safetensors
q8 not_check_finite 2 "error: --check-finite does not go with --quantize=int8" --quantize=int8 $all --check-finite
q8 selftest_weights 2 "error: --weights does not go with --quantize=int8" --quantize=int8 $all --emit=selftest --golden w.safetensors --weights w.safetensors
q8 calibrate_alone 2 "--calibrate goes with --quantize=int8" --inference --calibrate cal.safetensors
q8 from_qat_alone 2 "error: --from-qat goes with --inference --quantize=int8" --inference --from-qat w.safetensors
q8 from_qat_embed 2 "error: --from-qat FILE is the weights too: leave out --embed-weights" --quantize=int8 \
    --inference --from-qat w.safetensors --embed-weights w.safetensors
q8 from_qat_calibrate 2 "error: --from-qat and --calibrate both set the scales" --quantize=int8 --inference \
    --from-qat w.safetensors --calibrate cal.safetensors
q8 cal_unreadable 1 "dnnc: error: cannot open 'none.safetensors'" --quantize=int8 --inference \
    --embed-weights w.safetensors --calibrate none.safetensors
st bad.safetensors "$one" image:3,2
q8 cal_missing_input 1 "bad.safetensors: no tensor 'x'.*\[N, 2\]" --quantize=int8 --inference \
    --embed-weights w.safetensors --calibrate bad.safetensors
st bad.safetensors "$one" x:3,3
q8 cal_shape 1 "bad.safetensors: 'x' is F32 \[3, 3\]; the calibration set needs F32 \[N, 2\]" --quantize=int8 \
    --inference --embed-weights w.safetensors --calibrate bad.safetensors
st bad.safetensors "$one" x:0,2
q8 cal_empty 1 "'x' holds 0 samples; calibration needs at least one" --quantize=int8 --inference \
    --embed-weights w.safetensors --calibrate bad.safetensors
st bad.safetensors "$nan" x:2,2
q8 cal_nan 1 "'x' sample 0, element 0 is NaN; calibration needs finite values" --quantize=int8 --inference \
    --embed-weights w.safetensors --calibrate bad.safetensors
echo "not safetensors" >bad.safetensors
q8 cal_not_safetensors 1 "bad.safetensors: not a safetensors file" --quantize=int8 --inference \
    --embed-weights w.safetensors --calibrate bad.safetensors
sed 's/relu(dense(x, 4))/sigmoid(dense(x, 4))/' q.dnn >s.dnn && cp q.dnn q.keep && cp s.dnn q.dnn
q8 float_between_layers 1 "error: --quantize=int8: this dense reads a float value (sigmoid has no int8 form)" \
    --quantize=int8 $all
cp q.keep q.dnn
# every weight and bias 0.5: out = 4 · relu(0.5 + 0.5 + 0.5) · 0.5 + 0.5 = 3.5 for x = (1, 1), the
# calibration sample; in int8 253 steps of 3.5/255 = 3.472549 (0.5 is 127 steps of 0.5/127.5: 1.496 for
# each h, 254 steps of 1.5/255)
"$dnnc" --quantize=int8 $all q.dnn -o q.c 2>err.txt
cat >main.c <<'EOF2'
#include <stdio.h>
#include "q.h"
int main(void) {
    static q_model m;
    const float x[2] = {1.0f, 1.0f};
    float out[1];
    q_init(&m, 0);
    q_forward(&m, x, out, 1);
    printf("%.6f\n", out[0]);
    return 0;
}
EOF2
if cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" q.c main.c \
        -L"$root/build" -ldnnrt -lm -o q 2>cc.txt && [ "$(./q)" = "3.472549" ] && grep -q "int8_t q_h_weight\[8\]" q.c &&
        grep -q '{"h.weight", 2, {4, 2, 0, 0}, 8, 0, DNN_DT_I8}' q.c; then
    pass quantize_runs
else
    fail quantize_runs "$(head -n 1 err.txt cc.txt) out $(./q 2>&1)"
fi
# two adds in one statement (both labelled h): their functions and tensors get names of their own
cat >three.dnn <<'EOF2'
model three {
    input  x[2];
    target y[4];
    a = relu(dense(x, 4));
    b = relu(dense(x, 4));
    output h = relu(a + b + a);
    loss   mse(h, y);
}
EOF2
st w3.safetensors "$half" a.weight:4,2 a.bias:4 b.weight:4,2 b.bias:4
"$dnnc" --quantize=int8 --inference --embed-weights w3.safetensors --calibrate cal.safetensors three.dnn -o three.c \
    2>err.txt
if cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" -c three.c -o three.o 2>cc.txt &&
        grep -q '{"h.scale", 0' three.c && grep -q '{"h_2.scale", 0' three.c; then
    pass quantize_two_adds_one_label
else
    fail quantize_two_adds_one_label "$(head -n 1 err.txt cc.txt)"
fi
# what qnnpack has no int8 form of: a 1x1 average pooling; an add of a constant (after the int8 part)
printf 'model p {\n    input x[4, 4, 4];\n    target y[4, 4, 4];\n    output h = x |> conv2d(4, kernel = 1) |> %s;\n    loss mse(h, y);\n}\n' \
    'avgpool(1)' >p1.dnn
printf 'model p {\n    input x[4, 4, 4];\n    target y[4, 4, 4];\n    c = x |> conv2d(4, kernel = 1);\n    output h = c + 1;\n    loss mse(h, y);\n}\n' >p2.dnn
st wp1.safetensors "$half" h.0.weight:4,4,1,1 h.0.bias:4
st wp2.safetensors "$half" c.0.weight:4,4,1,1 c.0.bias:4
st calp.safetensors "$one" x:2,4,4,4
for p in p1:"p1.dnn:4:46: error: --quantize=int8: qnnpack refuses a 1x1 average pooling" \
         p2:"p2.dnn:5:18: error: --quantize=int8: add after the int8 part takes a constant"; do
    rm -f p.c
    "$dnnc" --quantize=int8 --inference --embed-weights w${p%%:*}.safetensors --calibrate calp.safetensors ${p%%:*}.dnn \
        -o p.c 2>err.txt
    rc=$?
    if [ $rc -eq 1 ] && grep -q "^${p#*:}" err.txt && [ ! -e p.c ]; then
        pass "quantize_refuses_${p%%:*}"
    else
        fail "quantize_refuses_${p%%:*}" "exit $rc: $(head -n 1 err.txt)"
    fi
done
# --ram-limit counts the int8 build's bytes: sizeof(q_model) is 6 (2 + 4 uint8 activations)
q8 ram_limit 1 "error: model 'q' needs 6 bytes of RAM (sizeof(q_model)), more than --ram-limit 5" \
    --quantize=int8 $all --ram-limit 5
"$dnnc" --quantize=int8 $all --ram-limit 6 q.dnn -o q.c 2>err.txt
check quantize_ram_limit_fits test -s q.c
# the weights' preprocessing metadata gives NAME_preprocess, as with --inference --embed-weights
meta='"dnn.scale":"0.5"' st wm.safetensors "$half" h.weight:4,2 h.bias:4 out.weight:1,4 out.bias:1
"$dnnc" --quantize=int8 --inference --embed-weights wm.safetensors --calibrate cal.safetensors q.dnn -o p.c 2>err.txt
if grep -q '^void q_preprocess(const float \*raw_x, float \*x, int n);' p.h && grep -q '^#define Q_X_SCALE 0.5 ' p.h; then
    pass quantize_preprocess
else
    fail quantize_preprocess "$(head -n 1 err.txt) $(grep -c preprocess p.h) preprocess lines in p.h"
fi
# a float part reading an int8 value twice (sigmoid(h) and log_softmax(h)) keeps the dequantized h
# for both; two sigmoids of one statement, a dropout (eval mode: the same values): the int8 build's
# outputs are those of the float build up to int8's rounding
cat >tail.dnn <<'EOF2'
model tail {
    input  x[2];
    target y[4];
    h = relu(dense(x, 4));
    s = sigmoid(h);
    output o = s * softmax(s);
    output p = log_softmax(h);
    output r = sigmoid(sigmoid(h)) |> dropout(0.5);
    loss   mse(o, y);
}
EOF2
st wt.safetensors "$half $minus_quarter $one" h.weight:4,2 h.bias:4
"$dnnc" --quantize=int8 $all --embed-weights wt.safetensors tail.dnn -o tail8.c 2>err.txt
"$dnnc" --inference --embed-weights wt.safetensors --prefix tailf tail.dnn -o tailf.c 2>>err.txt
cat >main3.c <<'EOF2'
#include <math.h>
#include <stdio.h>
#include "tail8.h"
#include "tailf.h"
int main(void) {
    static tail_model m;
    static tailf_model f;
    const float x[2] = {1.0f, 1.0f};
    float o[4], p[4], r[4], of[4], pf[4], rf[4], worst = 0.0f;
    tail_init(&m, 0);
    tailf_init(&f, 0);
    tail_forward(&m, x, o, p, r, 1);
    tailf_forward(&f, x, of, pf, rf, 1);
    for (int i = 0; i < 4; i++)
        worst = fmaxf(worst, fmaxf(fabsf(o[i] - of[i]), fmaxf(fabsf(p[i] - pf[i]), fabsf(r[i] - rf[i]))));
    printf("%s %g\n", worst < 0.02f ? "close" : "far", worst);
    return 0;
}
EOF2
if cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" tail8.c tailf.c main3.c -L"$root/build" -ldnnrt -lm \
        -o tail 2>cc.txt && ./tail | grep -q '^close '; then
    pass quantize_float_part
else
    fail quantize_float_part "$(head -n 1 err.txt cc.txt) $(./tail 2>&1)"
fi
# --batch 2: NAME_forward runs each sample through the int8 steps
"$dnnc" --quantize=int8 $all --batch 2 q.dnn -o q.c 2>err.txt
cat >main2.c <<'EOF2'
#include <stdio.h>
#include "q.h"
int main(void) {
    static q_model m;
    const float x[4] = {1.0f, 1.0f, 0.0f, 0.0f};
    float out[2];
    q_init(&m, 0);
    q_forward(&m, x, out, 2);
    printf("%.6f %.6f\n", out[0], out[1]);
    return 0;
}
EOF2
# the second sample: each h = relu(0.5) is 85 steps of 1.5/255; out = 4 · 0.5 · 0.5 + 0.5 = 1.5, 109 steps of 3.5/255
if cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" q.c main2.c -L"$root/build" -ldnnrt -lm -o q2 \
        2>cc.txt && [ "$(./q2)" = "3.472549 1.496078" ]; then
    pass quantize_batch
else
    fail quantize_batch "$(head -n 1 err.txt cc.txt) out $(./q2 2>&1)"
fi
# --emit=report: each tensor's scale and zero point, RAM and flash in bytes
"$dnnc" --quantize=int8 $all q.dnn --emit=report >report.txt 2>err.txt
if grep -Eq '^x +quantize +\[2\] +uint8 +0\.00392156886 +0 ' report.txt &&
        grep -Eq '^out +dense +\[1\] +uint8 +0\.0137254903 +0 +28 +1$' report.txt &&
        grep -qx 'RAM of the model: 6 bytes' report.txt && grep -q '^frozen weights: 116 bytes' report.txt; then
    pass quantize_report
else
    fail quantize_report "$(head -n 1 err.txt) $(cat report.txt)"
fi
cd .. || exit 2
