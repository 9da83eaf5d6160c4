#!/bin/sh
# The command line of the training programs (dnnc --main, runtime/train):
# getopt_long's forms (--opt=V, --opt V, prefixes), suggestions and plain
# errors, the short usage, '-' for standard input (CSV, IDX, .npy, weights).
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion=/usr/share/datasets/fashion-mnist
iris=$root/examples/iris/iris.csv

pass() { echo "PASS program/cli.$1"; }
fail() { echo "FAIL program/cli.$1: $2"; }
skip() { echo "SKIP program/cli.$1: $2"; }

# build NAME MODEL: the program $tmp/NAME
build() {
    if "$root/build/dnnc" --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" "$tmp/$1.c" "$root/build/libdnnrt.a" \
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

build iris "$root/models/iris.dnn"
build xor "$root/models/xor.dnn"
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
    build mlp "$root/models/mlp.dnn"
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

# ---- run directories: a second train replaces nothing ---------------------------------------------

mkdir rd && cd rd || exit 2
../xor train ../xor.csv --epochs 30 -q >out1 2>&1
cp -r runs/xor-1 first
../xor train ../xor.csv --epochs 30 -q >out2 2>&1
if [ "$(head -1 out1)" = "run directory: runs/xor-1 (runs/latest)" ] &&
   [ "$(head -1 out2)" = "run directory: runs/xor-2 (runs/latest)" ] &&
   [ "$(readlink runs/latest)" = xor-2 ] && diff -r first runs/xor-1 >/dev/null &&
   [ "$(ls runs/xor-2 | tr '\n' ' ')" = "xor.ckpt xor.log.csv xor.safetensors xor.settings.json xor.svg " ]; then
    pass runs.one_per_train
else
    fail runs.one_per_train "$(head -1 out2); latest -> $(readlink runs/latest); $(ls runs/xor-2 | tr '\n' ' ')"
fi
# interrupted, then --resume alone: the latest run goes on in its directory, bit-identical,
# with one epoch-0 line in its log
../xor train ../xor.csv --epochs 30 -q --stop-after 9 >out3 2>&1
rc=$?
../xor train ../xor.csv --epochs 30 -q --resume >out4 2>&1
if [ $rc -eq 130 ] && grep -q "^interrupted after epoch 9: checkpoint runs/xor-3/xor.ckpt; continue with the same command and --resume$" out3 &&
   [ "$(head -1 out4)" = "resuming runs/xor-3/xor.ckpt at epoch 10, batch 1" ] &&
   cmp -s runs/xor-1/xor.safetensors runs/xor-3/xor.safetensors &&
   [ "$(cut -d, -f1-6 runs/xor-1/xor.log.csv)" = "$(cut -d, -f1-6 runs/xor-3/xor.log.csv)" ] &&
   [ "$(grep -c '^0,' runs/xor-3/xor.log.csv)" -eq 1 ] && [ "$(wc -l <runs/xor-3/xor.log.csv)" -eq 32 ]; then
    pass runs.resume_latest
else
    fail runs.resume_latest "exit $rc: $(tail -1 out3) / $(head -1 out4)"
fi
# --resume DIR and --resume=FILE continue that run; a data file after --resume stays data
../xor train ../xor.csv --epochs 31 -q --resume runs/xor-2 >out5 2>&1
../xor train ../xor.csv --epochs 32 -q --resume=runs/xor-2/xor.ckpt >out6 2>&1
../xor train --resume ../xor.csv --epochs 31 -q >out7 2>&1
if grep -q "^resuming runs/xor-2/xor.ckpt at epoch 31, batch 1" out5 && grep -q "^resuming runs/xor-2/xor.ckpt at epoch 32" out6 &&
   [ "$(wc -l <runs/xor-2/xor.log.csv)" -eq 34 ] && grep -q "^resuming runs/xor-3/xor.ckpt at epoch 31" out7 &&
   [ "$(readlink runs/latest)" = xor-3 ]; then
    pass runs.resume_dir_or_file
else
    fail runs.resume_dir_or_file "$(head -1 out5) / $(head -1 out6) / $(head -1 out7)"
fi
cd .. && mkdir rd2 && cd rd2 || exit 2
# --save and --out name the files: no run directory; bad data or --resume without a run writes nothing
../xor train ../xor.csv --epochs 3 -q --save w.safetensors >/dev/null 2>&1
../xor train ../xor.csv --epochs 3 -q --out there >/dev/null 2>&1
../xor train ../xor.csv --epochs 3 -q --out there --resume >out 2>&1
printf '0,0\n' >short.csv
../xor train short.csv >/dev/null 2>&1
../xor train ../xor.csv --resume >err 2>&1
rc=$?
if [ "$(ls | tr '\n' ' ')" = "err out short.csv there w.ckpt w.log.csv w.safetensors w.settings.json w.svg " ] &&
   [ "$(ls there | tr '\n' ' ')" = "xor.ckpt xor.log.csv xor.safetensors xor.settings.json xor.svg " ] &&
   grep -q "^resuming there/xor.ckpt" out && [ $rc -eq 1 ] &&
   grep -q "error: --resume: there is no run of 'xor' in runs/ to continue" err; then
    pass runs.save_and_out
else
    fail runs.save_and_out "exit $rc: $(ls | tr '\n' ' '): $(head -1 err)"
fi
# --out naming a file that is not a directory: exit 3, said plainly (the example's mistake)
../xor train ../xor.csv -q --out w.safetensors >/dev/null 2>err
rc=$?
if [ $rc -eq 3 ] && grep -q "cannot make the directory 'w.safetensors': a file has that name" err; then
    pass runs.out_is_a_file
else
    fail runs.out_is_a_file "exit $rc: $(head -1 err)"
fi
cd .. || exit 2

# ---- epoch 0: the initial weights' loss and accuracy, in the output and the log --------------------

./xor train xor.csv --epochs 2 --save e.safetensors >out 2>&1
./xor eval xor.csv >eval 2>&1
init=$(sed -n 's/.*initial weights (seed 1): loss \([0-9.e-]*\).*/\1/p' eval)
if grep -q "^epoch 0/2  loss [0-9.]*  [0-9.]* s  (initial weights)$" out &&
   [ "$(sed -n 2p e.log.csv | cut -d, -f1)" = 0 ] && [ "$(sed -n 2p e.log.csv | cut -d, -f3)" = "$init" ]; then
    pass "epoch0.train_and_eval_agree (loss $init)"
else
    fail epoch0.train_and_eval_agree "$(grep '^epoch 0' out) / $(head -1 eval) / $(sed -n 2p e.log.csv)"
fi
# a large training set: epoch 0 measures 10,000 samples spread over all of it; in a file
# sorted by class that is both classes in their proportions, as the whole file has them
awk 'BEGIN { for (i = 0; i < 20000; i++) print (i < 10000 ? "1,2,3,4,0" : "5,6,7,8,1") }' >sorted.csv
head -1 sorted.csv >val.csv
./iris train sorted.csv --val val.csv --epochs 1 --save big.safetensors -q >out 2>&1
./iris eval sorted.csv >eval3 2>&1
init=$(sed -n 's/.*initial weights (seed 7): loss \([0-9.e-]*\)  accuracy \([0-9.]*\)%.*/\1 \2/p' eval3)
if [ -n "$init" ] && [ "$(sed -n 2p big.log.csv | awk -F, '{ printf "%s %.2f", $3, 100 * $4 }')" = "$init" ]; then
    pass "epoch0.spread_sample ($init%)"
else
    fail epoch0.spread_sample "$(sed -n 2p big.log.csv) / $init / $(tail -1 out)"
fi
./xor eval xor.csv --seed 2 >eval2 2>&1
if grep -q "^xor on 4 samples, initial weights (seed 2): loss" eval2 && ! cmp -s eval eval2; then
    pass epoch0.eval_seed
else
    fail epoch0.eval_seed "$(head -1 eval2)"
fi
./iris train "$iris" --epochs 1 --save i.safetensors >out 2>&1
./iris eval "$iris" >eval 2>&1
if grep -q "^epoch 0/1  loss .* val_loss .*(initial weights; a uniform guess scores ln 3 = 1.0986)$" out &&
   grep -q "^(a uniform guess scores ln 3 = 1.0986)$" eval; then
    pass epoch0.chance
else
    fail epoch0.chance "$(grep '^epoch 0' out) / $(sed -n 2p eval)"
fi
# every classifier's loss reports accuracy, also with the uniform guess known only for
# cross_entropy (nll and multi_margin lost their accuracy when chance_loss came in)
for loss in "nll(log_softmax(logits), species)" "multi_margin(logits, species)"; do
    name=$(echo "$loss" | cut -d'(' -f1)
    sed "s/model iris/model $name/; s/loss   cross_entropy(logits, species);/loss   $loss;/; s/epochs 100/epochs 30/" \
        "$root/models/iris.dnn" >"$name.dnn"
    build "$name" "$name.dnn"
    ./$name train "$iris" --standardize --save "$name.safetensors" >out 2>&1
    ./$name eval "$iris" --weights "$name.safetensors" >eval 2>&1
    acc=$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' eval | head -1)
    if grep -q "^epoch 0/30  loss [0-9.]*  acc [0-9.]*%  val_loss [0-9.]*  val_acc [0-9.]*%" out &&
       grep -q "^epoch 30/30  loss [0-9.]*  acc [0-9.]*%" out && [ -n "$acc" ] && awk "BEGIN { exit !($acc >= 80) }"; then
        pass "accuracy.$name ($acc%)"
    else
        fail "accuracy.$name" "$(grep '^epoch 30' out) / $(head -1 eval)"
    fi
done

# ---- --init-from: another model's tensors, by name and shape ----------------------------------------

cat >a.dnn <<'EOF2'
model a {
    input  x[4];
    target y : class(3);
    enc = x |> dense(8) |> relu;
    out = enc |> dense(3);
    output out;
    loss   cross_entropy(out, y);
    train { optimizer adam(lr = 0.01); batch 16; epochs 20; seed 3; }
}
EOF2
sed 's/model a/model c/; s/enc/body/g; s/out = body/top = body/; s/(out/(top/; s/output out/output top/' a.dnn >c.dnn
sed 's/model a/model b/; s/enc/body/g; s/out = body |> dense(3)/top = body |> dense(5) |> relu |> dense(3)/; s/(out/(top/; s/output out/output top/' \
    a.dnn >b.dnn
for m in a b c; do build "init_$m" "$tmp/$m.dnn"; done
./init_a train "$iris" --save a.safetensors -q >/dev/null 2>&1
./init_a eval "$iris" --weights a.safetensors >ea 2>&1
# the same network under other names: every tensor loaded, the same loss to the last digit
./init_c eval "$iris" --init-from a.safetensors --init-map enc.=body. --init-map out.=top. >ec 2>&1
if grep -q "^  4 of 4 tensors loaded (67 of 67 values), 0 kept, 0 did not fit$" ec &&
   grep -q "^  loaded       body.0.weight \[8, 4\] from enc.0.weight$" ec &&
   [ "$(grep "loss" ea | sed 's/.*: loss/loss/')" = "$(grep "loss" ec | sed 's/.*: loss/loss/')" ]; then
    pass "init_from.same_values ($(grep loss ec | sed 's/.*: loss/loss/'))"
else
    fail init_from.same_values "$(grep loss ea) / $(grep loss ec) / $(tail -1 ec)"
fi
# a larger head: loaded, did not fit (names and both shapes), kept; training goes on from there
./init_b train "$iris" --standardize --epochs 3 --save b.safetensors --init-from a.safetensors \
    --init-map enc.=body. --init-map out.=top. >eb 2>eb.err
if grep -q "^  loaded       body.0.bias \[8\] from enc.0.bias$" eb &&
   grep -q "^  did not fit  top.0.weight: file \[3, 8\] from out.0.weight, model \[5, 8\]$" eb &&
   grep -q "^  kept         top.2.weight \[3, 5\]: no out.2.weight in the file$" eb &&
   grep -q "^  2 of 6 tensors loaded (40 of 103 values), 2 kept, 2 did not fit$" eb && grep -q "^epoch 3/3" eb &&
   grep -q "note: a.safetensors was trained without --standardize, this run standardizes its inputs" eb.err; then
    pass init_from.report
else
    fail init_from.report "$(head -8 eb | tr '\n' '|')"
fi
# unmapped names: nothing fits, exit 1; the file's unused tensors are listed; --init-from - reads stdin
./init_b train "$iris" --init-from - <a.safetensors >out 2>err
rc=$?
if [ $rc -eq 1 ] && grep -q "none of its tensors fits model 'b'; if only the names differ, map them with --init-map" err &&
   grep -q "^  not used     enc.0.weight, enc.0.bias, out.0.weight, out.0.bias$" out && [ ! -e runs ]; then
    pass init_from.nothing_fits
else
    fail init_from.nothing_fits "exit $rc: $(head -1 err)"
fi
# --weights stays strict
./init_b eval "$iris" --weights a.safetensors >out 2>err
if [ $? -eq 1 ] && grep -q "the file must hold exactly the model's tensors" err; then
    pass init_from.weights_stay_strict
else
    fail init_from.weights_stay_strict "$(head -1 err)"
fi

# ---- predict --mc-samples: Monte-Carlo dropout ---------------------------------------------------------

build ema "$root/tests/train/ema.dnn"
./ema train "$iris" --standardize --save m.safetensors -q >/dev/null 2>&1
./ema predict "$iris" --weights m.safetensors --mc-samples 20 >mc1 2>&1
./ema predict "$iris" --weights m.safetensors --mc-samples 20 >mc2 2>&1
./ema predict "$iris" --weights m.safetensors --mc-samples 20 --seed 5 >mc3 2>&1
if [ "$(head -1 mc1)" = "probs_mean.0,probs_mean.1,probs_mean.2,probs_std.0,probs_std.1,probs_std.2,class" ] &&
   [ "$(wc -l <mc1)" -eq 151 ] && cmp -s mc1 mc2 && ! cmp -s mc1 mc3 &&
   awk -F, 'NR > 1 && $4 + $5 + $6 > 0 { spread = 1 } NR > 1 { s = $1 + $2 + $3; if (s < 0.999 || s > 1.001) bad = 1 }
            END { exit bad || !spread }' mc1; then
    pass mc.columns_and_seed
else
    fail mc.columns_and_seed "$(head -2 mc1 | tr '\n' '|')"
fi
# .npy: [2, N, 3], the means then the deviations
./ema predict "$iris" --weights m.safetensors --mc-samples 20 --out mc.npy >/dev/null 2>&1
./ema predict "$iris" --weights m.safetensors --out one.npy >/dev/null 2>&1
if head -c 128 mc.npy | grep -aq "'shape': (2, 150, 3)" && head -c 128 one.npy | grep -aq "'shape': (150, 3)"; then
    pass mc.npy
else
    fail mc.npy "$(head -c 80 mc.npy | tr -cd '[:print:]')"
fi
# batchnorm stays in eval mode: with dropout(0.0) every pass is the eval-mode forward, deviation 0
sed 's/model ema/model bn0/; s/dropout(0.2)/dropout(0.0)/' "$root/tests/train/ema.dnn" >bn0.dnn
build bn0 "$tmp/bn0.dnn"
./bn0 train "$iris" --standardize --save bn0.safetensors -q >/dev/null 2>&1
./bn0 predict "$iris" --weights bn0.safetensors >plain 2>&1
./bn0 predict "$iris" --weights bn0.safetensors --mc-samples 3 >mc 2>&1
if [ "$(cut -d, -f1-3 plain | sed 1d)" = "$(cut -d, -f1-3 mc | sed 1d)" ] &&
   [ -z "$(cut -d, -f4-6 mc | sed 1d | grep -v '^0,0,0$')" ]; then
    pass mc.batchnorm_eval_mode
else
    fail mc.batchnorm_eval_mode "$(sed -n 2p plain) / $(sed -n 2p mc)"
fi
usage mc.needs_dropout "--mc-samples: model 'iris' has no dropout" predict "$iris" --weights i.safetensors --mc-samples 3
usage mc.at_least_two "--mc-samples takes a whole number from 2 to 1000000, not '1'" predict "$iris" --mc-samples 1
if grep -q "void ema_forward_mc(ema_model \*m, const float \*features, float \*probs, int n);" ema.h &&
   ! grep -q forward_mc iris.h; then
    pass mc.c_api
else
    fail mc.c_api "$(grep forward_mc ema.h iris.h)"
fi

# ---- all of it under AddressSanitizer and UBSan ------------------------------------------------------

S="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
if ! (cd "$root" && make -s build/asan/libdnnrt.a) >err 2>&1 ||
   ! ${CC:-cc} -std=c99 -O1 $S -I"$root/runtime" ema.c "$root/build/asan/libdnnrt.a" -lz -lm -o ema_asan 2>>err ||
   ! ${CC:-cc} -std=c99 -O1 $S -I"$root/runtime" init_b.c "$root/build/asan/libdnnrt.a" -lz -lm -o b_asan 2>>err; then
    skip sanitizers "cannot build with -fsanitize: $(head -1 err)"
else
    mkdir san && cd san || exit 2
    bad=""
    # run WANT PROGRAM ARGS... (stdin from $in): exit status WANT and no sanitizer report
    run() {
        want=$1; shift
        "$@" <"$in" >out 2>err
        rc=$?
        if [ $rc -ne "$want" ] || grep -q "Sanitizer\|runtime error" err; then
            bad="$bad [$*: exit $rc $(grep -m1 'ERROR\|runtime error\|error:' err)]"
        fi
    }
    in=/dev/null
    run 2 ../ema_asan
    run 2 ../ema_asan train "$iris" --epcohs 3
    run 2 ../ema_asan train "$iris" --s 3
    run 0 ../ema_asan train "$iris" --standardize --epochs 3 -q
    run 130 ../ema_asan train "$iris" --standardize --epochs 3 -q --stop-after 4
    run 0 ../ema_asan train "$iris" --standardize --epochs 4 -q --resume
    run 0 ../ema_asan train "$iris" --standardize --epochs 2 -q --resume runs/ema-2
    run 0 ../ema_asan eval "$iris" --standardize
    run 0 ../ema_asan predict "$iris" --weights runs/latest/ema.safetensors --mc-samples 4 --out p.npy
    run 0 ../ema_asan predict "$iris" --weights runs/latest/ema.safetensors --mc-samples 4
    run 1 ../ema_asan train "$iris" --resume=missing.ckpt
    run 1 ../b_asan train "$iris" --init-from "$tmp/a.safetensors" --epochs 2 -q
    run 0 ../b_asan train "$iris" --init-from "$tmp/a.safetensors" --init-map enc.=body. --init-map out.=top. --epochs 2 -q
    run 1 ../b_asan eval "$iris" --init-from "$iris"
    in=$iris
    run 0 ../ema_asan train - --epochs 2 -q --save s.safetensors
    in=s.safetensors
    run 0 ../ema_asan eval "$iris" --weights -
    in=/dev/null
    run 1 ../ema_asan eval -
    if [ -z "$bad" ]; then pass sanitizers; else fail sanitizers "$bad"; fi
    cd .. || exit 2
fi
