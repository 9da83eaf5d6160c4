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
