#!/bin/sh
# Training programs (dnnc --main) given data of a stranger's making: class
# names that travel with the weights (test files missing a class, unknown
# labels, --class-names, --val, --resume), CSV columns taken by name or by
# position but never half and half, --center and --standardize=channel,
# the preprocessing reproduced on the device by NAME_preprocess
# (--embed-weights), batchnorm on a batch of one, and the messages for bad
# weights files, the log's learning rate and the progress of long runs.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
iris=examples/iris/iris.csv

pass() { echo "PASS program/$1"; }
fail() { echo "FAIL program/$1: $2"; }
skip() { echo "SKIP program/$1: $2"; }

# build NAME MODEL: the training program $tmp/NAME
build() {
    if build/dnnc --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime "$tmp/$1.c" build/libdnnrt.a \
           -lz -lm -o "$tmp/$1" 2>"$tmp/err"; then
        pass "$1.build"
    else
        fail "$1.build" "$(head -3 "$tmp/err" | tr '\n' ' ')"
    fi
}

# expect_error NAME STATUS "MESSAGE" PROGRAM ARGS...: that exit status and MESSAGE on stderr
expect_error() {
    name=$1 want_rc=$2 want=$3; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne "$want_rc" ]; then
        fail "$name" "exit $rc, want $want_rc: $(head -3 "$tmp/err" | tr '\n' ' ')"
    elif ! grep -qF -- "$want" "$tmp/err"; then
        fail "$name" "stderr lacks '$want': $(head -4 "$tmp/err" | tr '\n' ' ')"
    else
        pass "$name"
    fi
}

build iris models/iris.dnn
build xor models/xor.dnn

# ---- weights files: the message names the tensor and both shapes --------------------------------
sed 's/dense(16)/dense(8)/' models/iris.dnn >"$tmp/iris8.dnn"
build iris8 "$tmp/iris8.dnn"
"$tmp/iris8" train $iris --epochs 1 --quiet --save "$tmp/iris8.safetensors" >/dev/null 2>&1
expect_error weights.tensor_shape 1 "iris8.safetensors: 'logits.0.weight' is [8, 4] in the file, [16, 4] in the model" \
    "$tmp/iris" eval $iris --weights "$tmp/iris8.safetensors"
expect_error weights.tensor_missing 1 "xor.weights.safetensors: 'logits.0.weight' [16, 4] is missing from the file" \
    "$tmp/iris" eval $iris --weights tests/golden/data/xor.weights.safetensors
expect_error weights.checkpoint 1 "iris8.ckpt is a checkpoint (for --resume), not a weights file" \
    "$tmp/iris8" eval $iris --weights "$tmp/iris8.ckpt"
if ! build/dnnc --inference --embed-weights "$tmp/iris8.safetensors" models/iris.dnn -o "$tmp/e.c" 2>"$tmp/err" &&
   grep -qF "'logits.0.weight' is [8, 4] in the file, [16, 4] in the model" "$tmp/err"; then
    pass weights.dnnc_names_tensor
else
    fail weights.dnnc_names_tensor "$(head -2 "$tmp/err")"
fi
expect_error weights.dev_null 1 "cannot read '/dev/null': not a regular file" \
    "$tmp/iris" eval $iris --weights /dev/null
if grep -q "Success" "$tmp/err"; then fail weights.dev_null_no_success "$(cat "$tmp/err")"; else pass weights.dev_null_no_success; fi
expect_error weights.directory 1 "cannot read '$tmp': it is a directory" "$tmp/iris" eval $iris --weights "$tmp"
: >"$tmp/empty.safetensors"
expect_error weights.empty 1 "empty.safetensors: the file is empty, not a safetensors file" \
    "$tmp/iris" eval $iris --weights "$tmp/empty.safetensors"

# ---- words and numbers -----------------------------------------------------------------------------
# "1 epoch", not "1 epochs": the usage text and early stopping with patience 1
sed -e 's/epochs 100;/epochs 1;/' models/iris.dnn >"$tmp/one.dnn"
build one "$tmp/one.dnn"
if "$tmp/one" --help | grep -q "train block: 1 epoch, batch"; then
    pass words.help_one_epoch
else
    fail words.help_one_epoch "$("$tmp/one" --help | grep 'train block')"
fi
sed -e 's/validation 0.2;/validation 0.2; early_stop(patience = 1, min_delta = 10);/' models/iris.dnn >"$tmp/es.dnn"
build es "$tmp/es.dnn"
"$tmp/es" train $iris --quiet --save "$tmp/es.safetensors" >"$tmp/out" 2>&1
if grep -q "has not improved for 1 epoch;" "$tmp/out"; then
    pass words.early_stop_one_epoch
else
    fail words.early_stop_one_epoch "$(grep 'early stop' "$tmp/out")"
fi
# the log's learning rate: adam(lr = 0.01) is the float 0.0099999998; written as 0.01
if sed -n 2p "$tmp/es.log.csv" | grep -q "^1,0.01,"; then
    pass words.log_lr_shortest
else
    fail words.log_lr_shortest "$(sed -n 2p "$tmp/es.log.csv")"
fi

# ---- progress on a terminal: every epoch draws, about 25 summaries stay ----------------------------
printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$tmp/xor.csv"
if ! command -v script >/dev/null 2>&1 || ! script --version 2>/dev/null | grep -q util-linux; then
    skip progress.every_epoch "script (util-linux) not installed"
else
    script -qec "$tmp/xor train $tmp/xor.csv --epochs 60 --save $tmp/p.safetensors" /dev/null </dev/null \
        >"$tmp/pty.log" 2>&1
    drawn=$(tr '\r' '\n' <"$tmp/pty.log" | grep -o '^epoch [0-9]*/60 \[' | sort -u | wc -l)
    kept=$(grep -c 'epoch [0-9]*/60  loss' "$tmp/pty.log")
    if [ "$drawn" -eq 60 ] && [ "$kept" -ge 20 ] && [ "$kept" -le 26 ]; then
        pass "progress.every_epoch ($drawn epochs drawn, $kept summaries kept)"
    else
        fail progress.every_epoch "$drawn of 60 epochs drew progress, $kept summary lines"
    fi
fi
