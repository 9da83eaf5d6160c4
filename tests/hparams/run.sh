#!/bin/sh
# tests/hparams — run-time hyper-parameters and schedules (generated-c.md,
# "Run-time hyper-parameters"; docs/training.md): NAME_set_hparam's return
# codes (test_set_hparam.c); a training program's --lr, --gamma, --hparam
# giving exactly the weights of a model recompiled with those values; the
# run's settings file; errors before any data is read; --resume keeping a
# run's hyper-parameters; a per-step cosine schedule resumed mid-epoch,
# bit-identical.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here=tests/hparams
iris=examples/iris/iris.csv
cc="${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime"

pass() { echo "PASS hparams/$1"; }
fail() { echo "FAIL hparams/$1: $2"; }

# program NAME DNN: the training program $tmp/NAME of a .dnn
program() {
    build/dnnc --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" && $cc "$tmp/$1.c" build/libdnnrt.a -lz -lm -o "$tmp/$1" 2>"$tmp/err" ||
        fail "$1.build" "$(head -3 "$tmp/err")"
}

# iris with adam and a step schedule (the lr reaches the update through doubles)
sed 's/optimizer adam(lr = 0.01);/optimizer adam(lr = 0.01); schedule step(every = 20, gamma = 0.7);/; s/model iris/model iris_step/; s/epochs 100/epochs 40/' \
    models/iris.dnn >"$tmp/iris_step.dnn"

# ---- the C API ----------------------------------------------------------------------
if build/dnnc "$here/plain_sgd.dnn" -o "$tmp/plain_sgd.c" 2>"$tmp/err" &&
   build/dnnc "$tmp/iris_step.dnn" -o "$tmp/iris_step.c" 2>>"$tmp/err" &&
   $cc -I"$tmp" -include "$tmp/plain_sgd.h" -include "$tmp/iris_step.h" "$here/test_set_hparam.c" "$tmp/plain_sgd.c" \
       "$tmp/iris_step.c" build/libdnnrt.a -lm -o "$tmp/test_set_hparam" 2>>"$tmp/err"; then
    "$tmp/test_set_hparam"
else
    fail set_hparam.build "$(head -3 "$tmp/err")"
fi

# ---- a shell loop over learning rates: one binary, the weights of recompiled models --
program iris_step "$tmp/iris_step.dnn"
ok=1 why=""
for lr in 0.02 0.005; do
    sed "s/adam(lr = 0.01)/adam(lr = $lr)/; s/model iris_step/model iris_step/" "$tmp/iris_step.dnn" >"$tmp/recompiled.dnn"
    program recompiled "$tmp/recompiled.dnn"
    "$tmp/iris_step" train "$iris" --standardize --quiet --lr $lr --save "$tmp/run_$lr.safetensors" >/dev/null 2>&1 &&
        "$tmp/recompiled" train "$iris" --standardize --quiet --save "$tmp/rec_$lr.safetensors" >/dev/null 2>&1 ||
        { ok=0 why="training with lr $lr failed"; }
    cmp -s "$tmp/run_$lr.safetensors" "$tmp/rec_$lr.safetensors" || { ok=0 why="--lr $lr differs from lr = $lr compiled in"; }
done
cmp -s "$tmp/run_0.02.safetensors" "$tmp/run_0.005.safetensors" && { ok=0 why="two learning rates gave the same weights"; }
[ $ok = 1 ] && pass "lr_loop (--lr 0.02 and 0.005: the recompiled models' weights, bit for bit)" || fail lr_loop "$why"

# the schedule's parameters too: --gamma and --every as recompiled
sed 's/every = 20, gamma = 0.7/every = 7, gamma = 0.3/' "$tmp/iris_step.dnn" >"$tmp/recompiled.dnn"
program recompiled "$tmp/recompiled.dnn"
if "$tmp/iris_step" train "$iris" --standardize --quiet --gamma 0.3 --hparam every=7 --save "$tmp/g.safetensors" >/dev/null 2>&1 &&
   "$tmp/recompiled" train "$iris" --standardize --quiet --save "$tmp/rg.safetensors" >/dev/null 2>&1 &&
   cmp -s "$tmp/g.safetensors" "$tmp/rg.safetensors"; then
    pass schedule_options
else
    fail schedule_options "--gamma 0.3 --hparam every=7 differs from the recompiled schedule"
fi

# ---- the settings file beside the log -----------------------------------------------
s="$tmp/run_0.02.settings.json"
if grep -q '"lr": 0.02,' "$s" && grep -q '"from_command_line": \["lr"\]' "$s" && grep -q '"gamma": 0.69999' "$s" &&
   grep -q '"epochs": 40,' "$s" && grep -q '"schedule": "step"' "$s" &&
   { ! command -v python3 >/dev/null || python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$s"; }; then
    pass settings_file
else
    fail settings_file "$(tr '\n' ' ' <"$s")"
fi

# ---- errors: before any data is read, exit 2, nothing written -------------------------
program plain_sgd "$here/plain_sgd.dnn"
printf 'x1,x2,x3,y\n1,2,3,4\n' >"$tmp/tiny.csv"
# expect NAME "MESSAGE" ARGS...: plain_sgd train with ARGS exits 2 saying MESSAGE; no file written
expect() {
    name=$1 want=$2; shift 2
    mkdir -p "$tmp/e"
    "$tmp/plain_sgd" train "$@" --save "$tmp/e/w.safetensors" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 2 ]; then
        fail "$name" "exit $rc, want 2: $(head -2 "$tmp/err")"
    elif ! grep -qF -- "$want" "$tmp/err"; then
        fail "$name" "stderr lacks '$want': $(head -2 "$tmp/err")"
    elif [ -n "$(ls "$tmp/e")" ]; then
        fail "$name" "files were written: $(ls "$tmp/e" | tr '\n' ' ')"
    else
        pass "$name"
    fi
}
expect error.no_momentum "--momentum 0.9: model 'plain_sgd' (sgd, no schedule) has no 'momentum'" "$tmp/tiny.csv" --momentum 0.9
expect error.unknown "--hparam beta3=0.5: no hyper-parameter is called 'beta3'" "$tmp/tiny.csv" --hparam beta3=0.5
expect error.range "--lr -0.1: 'lr' must be positive" "$tmp/tiny.csv" --lr -0.1
expect error.not_a_number "--weight-decay takes a number, not 'lots'" "$tmp/tiny.csv" --weight-decay lots
expect error.before_data "has no 'gamma'" "$tmp/no-such-file.csv" --gamma 0.5

# ---- --resume keeps the run's hyper-parameters ---------------------------------------
"$tmp/iris_step" train "$iris" --standardize --quiet --lr 0.02 --save "$tmp/r.safetensors" --stop-after 30 >/dev/null 2>&1
"$tmp/iris_step" train "$iris" --standardize --quiet --lr 0.03 --save "$tmp/r.safetensors" --resume "$tmp/r.ckpt" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "a resumed run keeps its hyper-parameters" "$tmp/err" &&
   "$tmp/iris_step" train "$iris" --standardize --quiet --save "$tmp/r.safetensors" --resume "$tmp/r.ckpt" >/dev/null 2>&1 &&
   cmp -s "$tmp/r.safetensors" "$tmp/run_0.02.safetensors" && grep -q '"lr": 0.02,' "$tmp/r.settings.json"; then
    pass resume.keeps_hparams
else
    fail resume.keeps_hparams "exit $rc: $(head -1 "$tmp/err")"
fi

# ---- a per-step cosine schedule, interrupted twice mid-epoch: bit-identical --------------
sed 's/step(every = 20, gamma = 0.7)/cosine(period = 150, min_lr = 0.001, per_step = true)/; s/model iris_step/model iris_cos/' \
    "$tmp/iris_step.dnn" >"$tmp/iris_cos.dnn"
program iris_cos "$tmp/iris_cos.dnn"
c="$tmp/iris_cos"
if "$c" train "$iris" --standardize --quiet --save "$tmp/c1.safetensors" >/dev/null 2>&1 &&
   { "$c" train "$iris" --standardize --quiet --save "$tmp/c2.safetensors" --stop-after 37 >/dev/null 2>&1; [ $? -eq 130 ]; } &&
   { "$c" train "$iris" --standardize --quiet --save "$tmp/c2.safetensors" --resume "$tmp/c2.ckpt" --stop-after 61 >/dev/null 2>&1; [ $? -eq 130 ]; } &&
   "$c" train "$iris" --standardize --quiet --save "$tmp/c2.safetensors" --resume "$tmp/c2.ckpt" >/dev/null 2>&1 &&
   cmp -s "$tmp/c1.safetensors" "$tmp/c2.safetensors" &&
   [ "$(cut -d, -f1-6 "$tmp/c1.log.csv")" = "$(cut -d, -f1-6 "$tmp/c2.log.csv")" ]; then
    pass resume.per_step_cosine
else
    fail resume.per_step_cosine "the resumed run differs"
fi
# ... and its lr column follows the steps: 8 steps an epoch, period 150: the lr falls
# to min_lr near epoch 19 and rises again
lr_at() { awk -F, -v e="$1" '$1 == e { print $2 }' "$tmp/c1.log.csv"; }
if awk -v a="$(lr_at 1)" -v b="$(lr_at 18)" -v c="$(lr_at 30)" 'BEGIN { exit !(a > 0.0095 && b < 0.0012 && c > b) }'; then
    pass "per_step_cosine.lr (epoch 1: $(lr_at 1), 18: $(lr_at 18), 30: $(lr_at 30))"
else
    fail per_step_cosine.lr "epoch 1: $(lr_at 1), 18: $(lr_at 18), 30: $(lr_at 30)"
fi

# a checkpoint from before hyper-parameters were kept (no dnn.hparams: the key
# renamed, same length) resumes with the .dnn's values, so --lr 0.02 is refused
"$tmp/iris_step" train "$iris" --standardize --quiet --save "$tmp/o.safetensors" --stop-after 30 >/dev/null 2>&1
sed 's/"dnn\.hparams"/"dnn.hparamx"/' "$tmp/o.ckpt" >"$tmp/old.ckpt"
"$tmp/iris_step" train "$iris" --standardize --quiet --lr 0.02 --save "$tmp/o.safetensors" --resume "$tmp/old.ckpt" >"$tmp/out" 2>"$tmp/err"
rc=$?
if ! grep -q 'dnn.hparamx' "$tmp/old.ckpt"; then
    fail resume.old_checkpoint "could not make a checkpoint without dnn.hparams"
elif [ $rc -eq 2 ] && grep -q "has lr 0.01, and a resumed run keeps" "$tmp/err" &&
     "$tmp/iris_step" train "$iris" --standardize --quiet --save "$tmp/o.safetensors" --resume "$tmp/old.ckpt" >/dev/null 2>&1; then
    pass resume.old_checkpoint
else
    fail resume.old_checkpoint "exit $rc: $(head -1 "$tmp/err")"
fi
