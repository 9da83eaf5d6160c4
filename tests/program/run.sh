#!/bin/sh
# The command line of the training programs (dnnc --main, runtime/dnn_train.c):
# getopt_long's forms (--opt=V, --opt V, prefixes), suggestions and plain
# errors, the short usage, '-' for standard input (CSV, IDX, .npy, weights).
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion=/usr/share/datasets/fashion-mnist
iris=$root/examples/iris/iris.csv

pass() { echo "PASS program/$1"; }
fail() { echo "FAIL program/$1: $2"; }
skip() { echo "SKIP program/$1: $2"; }

# build NAME MODEL: the program $tmp/NAME
build() {
    if build/dnnc --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime "$tmp/$1.c" build/libdnnrt.a \
           -lz -lm -o "$tmp/$1" 2>"$tmp/err"; then
        pass "$1.build"
    else
        fail "$1.build" "$(head -3 "$tmp/err")"
    fi
}

# usage NAME "MESSAGE" ARGS...: the iris program exits 2 with MESSAGE on stderr
usage() {
    name=$1 want=$2; shift 2
    "$tmp/iris" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$want" "$tmp/err"; then
        pass "$name"
    else
        fail "$name" "exit $rc, want 2 and '$want': $(head -2 "$tmp/err" | tr '\n' ' ')"
    fi
}

build iris models/iris.dnn
build xor models/xor.dnn
printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$tmp/xor.csv"
cd "$tmp" || exit 2

# ---- the command line -------------------------------------------------------------------------

# no arguments: a few lines to stderr, exit 2, pointing at --help
./iris >out 2>err
rc=$?
if [ $rc -eq 2 ] && [ ! -s out ] && [ "$(wc -l <err)" -le 6 ] && grep -q "see 'iris --help'" err &&
   grep -q "^usage: iris COMMAND" err; then
    pass short_usage
else
    fail short_usage "exit $rc, $(wc -l <err) lines: $(head -1 err)"
fi
# --help: every option, one row each, and the data the model takes
if ./iris --help >out && ./iris train --help >out2 && cmp -s out out2 && grep -q "^  --init-map FROM=TO" out &&
   grep -q "^  --resume\[=CKPT\]" out && grep -q "^  -q, --quiet" out && grep -q "^  features input , 4 floats" out; then
    pass help
else
    fail help "$(head -3 out)"
fi

# --opt=V, --opt V and an unambiguous prefix give the same run
./xor train xor.csv --epochs=7 --save a.safetensors -q >/dev/null 2>&1
./xor train xor.csv --epochs 7 --save b.safetensors -q >/dev/null 2>&1
./xor train xor.csv --epo 7 --sa=c.safetensors --qu >out 2>&1
if cmp -s a.safetensors b.safetensors && cmp -s a.safetensors c.safetensors && grep -q ", 7 epochs" out; then
    pass "forms (--epochs=7, --epochs 7, --epo 7)"
else
    fail forms "$(tail -2 out)"
fi
# options may come before, between and after the data; '--' ends them
cp xor.csv ./-odd.csv
./xor train --epochs 7 -q --save d.safetensors -- -odd.csv >out 2>&1
if cmp -s a.safetensors d.safetensors; then pass dash_dash; else fail dash_dash "$(tail -1 out)"; fi

usage suggest.option "did you mean --epochs?" train "$iris" --epcohs 3
usage suggest.longer_word "did you mean --val?" train "$iris" --validation x.csv
usage suggest.one_dash "unknown option '-epochs' (long options start with two dashes)" train "$iris" -epochs 3
usage suggest.command "did you mean 'train'?" trian "$iris"
usage ambiguous "option '--s' is ambiguous: --save, --seed, --scale, --standardize, --stop-after" train "$iris" --s 1
usage takes_no_value "option '--quiet' takes no value" train "$iris" --quiet=yes
usage needs_value "option '--epochs' needs a value" train "$iris" --epochs
usage range "--epochs takes a whole number from 1 to 1000000, not '0'" train "$iris" --epochs 0
usage not_a_number "--scale takes a positive number, not 'x'" train "$iris" --scale=x
usage pairs "--map takes NAME=COLS, not 'species'" train "$iris" --map species
usage short "unknown option '-x'" train "$iris" -x
usage stdin_once "standard input ('-') can be read only once" eval - --weights -
usage init_map_alone "--init-map renames the tensors of --init-from FILE" train "$iris" --init-map a.=b.
usage weights_and_init_from "--weights and --init-from both give the starting weights" \
    train "$iris" --weights a.safetensors --init-from a.safetensors

# ---- standard input -----------------------------------------------------------------------------

# a CSV from stdin trains as the file does; errors name <stdin> and its line
./iris train - --epochs 3 --save s1.safetensors -q <"$iris" >out 2>&1
./iris train "$iris" --epochs 3 --save s2.safetensors -q >/dev/null 2>&1
if cmp -s s1.safetensors s2.safetensors; then pass stdin.csv; else fail stdin.csv "$(tail -1 out)"; fi
mkdir t
printf '1,2,3,4,0\n1,2,3\n' | TMPDIR=$tmp/t ./iris eval - --weights s1.safetensors >out 2>err
rc=$?
if [ $rc -eq 1 ] && grep -q "^iris: error: <stdin>:2: 3 fields, expected 5" err && [ -z "$(ls t)" ]; then
    pass stdin.error_names_stdin
else
    fail stdin.error_names_stdin "exit $rc: $(head -1 err)"
fi
# the weights from stdin; predict's --out - is stdout
./iris eval "$iris" --weights s1.safetensors >e1 2>&1
./iris eval "$iris" --weights - <s1.safetensors >e2 2>&1
./iris predict "$iris" --weights s1.safetensors --out - >p1 2>&1
./iris predict "$iris" --weights s1.safetensors >p2 2>&1
if cmp -s e1 e2 && grep -q accuracy e1 && cmp -s p1 p2 && [ "$(wc -l <p1)" -eq 151 ] && [ ! -e ./- ]; then
    pass stdin.weights_and_stdout
else
    fail stdin.weights_and_stdout "$(head -1 e2) / $(head -1 p1)"
fi
# .npy from stdin, told apart by its first bytes
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    /usr/bin/python3 -c "
import numpy as np
np.save('x.npy', np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
np.save('y.npy', np.array([[0], [1], [1], [0]], np.float64))"
    ./xor train x.npy y.npy --epochs 7 --save n1.safetensors -q >/dev/null 2>&1
    ./xor train x.npy - --epochs 7 --save n2.safetensors -q <y.npy >out 2>&1
    if cmp -s n1.safetensors n2.safetensors; then pass stdin.npy; else fail stdin.npy "$(tail -1 out)"; fi
else
    skip stdin.npy "numpy is not installed"
fi
# IDX from stdin, gzip-compressed or not
if [ -e $fashion/t10k-images-idx3-ubyte.gz ]; then
    ( cd "$root" && build/dnnc --main models/mlp.dnn -o "$tmp/mlp.c" &&
      ${CC:-cc} -std=c99 -O2 -Iruntime "$tmp/mlp.c" build/libdnnrt.a -lz -lm -o "$tmp/mlp" ) 2>err
    img=$fashion/t10k-images-idx3-ubyte.gz lab=$fashion/t10k-labels-idx1-ubyte.gz
    ./mlp train "$img" "$lab" --limit 300 --epochs 1 --scale 1/255 --save m.safetensors -q >/dev/null 2>&1
    ./mlp eval "$img" "$lab" --limit 300 --weights m.safetensors >i1 2>&1
    ./mlp eval - "$lab" --limit 300 --weights m.safetensors <"$img" >i2 2>&1
    gunzip -c "$lab" | ./mlp eval "$img" - --limit 300 --weights m.safetensors >i3 2>&1
    if grep -q "accuracy" i1 && cmp -s i1 i2 && cmp -s i1 i3; then
        pass stdin.idx
    else
        fail stdin.idx "$(head -1 i1) / $(head -1 i2) / $(head -1 i3)"
    fi
else
    skip stdin.idx "dataset-fashion-mnist is not installed"
fi
