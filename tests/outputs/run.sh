#!/bin/sh
# Where outputs go, for dnnc (-o, --header, -MF, the --emit text) and for
# the training program (--save, --log, the checkpoint, the SVG, predict
# --out, eval --confusion), which write through the same runtime/host/dnn_host.c
# dnn_output: a regular file is replaced whole by a rename; a device or a
# FIFO is written in place and stays what it is (as `cc -o /dev/null`); a
# symbolic link is followed and stays a link, the file it points to
# replaced in that file's directory (a dangling link: its target created);
# a directory or a read-only directory is a clear error (exit 3) that
# changes nothing; dnnc refuses to write over its input (exit 2). Root
# writes anywhere, so the read-only cases run as nobody (setpriv); the
# device is a null device made here with mknod, so that a regression
# replaces it and not the system's /dev/null.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
dnnc=$root/build/dnnc
pass() { echo "PASS outputs/$1"; }
fail() { echo "FAIL outputs/$1: $2"; }
skip() { echo "SKIP outputs/$1: $2"; }
ok() { # ok NAME 'CONDITION' (shell code, evaluated here) [WHAT]: PASS or FAIL with WHAT
    if eval "$2"; then pass "$1"; else fail "$1" "${3:-$2}"; fi
}
is_link_to() { [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; }
no_temporaries() { ! ls "$@" 2>/dev/null | grep -q '\.tmp$'; }

cd "$tmp" || exit 2
cp "$root/models/xor.dnn" "$root/models/iris.dnn" "$root/examples/iris/iris.csv" .
# a null device of our own (root); else the system's, which a user cannot replace anyway
if mknod null c 1 3 2>/dev/null && [ -c null ]; then null=$tmp/null; else null=/dev/null; fi
is_null() { [ -c "$null" ] && [ ! -s "$null" ]; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# ---- dnnc ---------------------------------------------------------------------------------
"$dnnc" xor.dnn -o "$null" 2>err
ok dnnc_null_device '[ $? -eq 0 ] && is_null && [ ! -e "$null.h" ] && [ ! -s err ]' "$(ls -l "$null"*; cat err)"
"$dnnc" -MD xor.dnn -o "$null" 2>err
ok dnnc_null_device_rule_beside_input 'is_null && grep -q "^$null: " xor.d && [ ! -e "$null.d" ]' "$(ls -l "$null"*)"
rm -f xor.d

# /dev/stdout, here a file the shell opened: written in place, the header's text first
if [ ! -e /dev/stdout.h ]; then
    "$dnnc" xor.dnn -o /dev/stdout >via_stdout.c 2>err
    rc=$?
    made=no; [ -e /dev/stdout.h ] && made=yes && rm -f /dev/stdout.h
    if [ $rc -eq 0 ] && [ $made = no ] && [ -f via_stdout.c ] && [ ! -s err ] &&
       ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" -c via_stdout.c -o via_stdout.o 2>err; then
        pass dnnc_dev_stdout_to_file
    else
        fail dnnc_dev_stdout_to_file "exit $rc, /dev/stdout.h made: $made; $(head -n 1 err)"
    fi
fi

echo old >real.c; ln -s real.c link.c
echo old >real.h; ln -s real.h link.h
echo old >real.d; ln -s real.d link.d
"$dnnc" -MD -MF link.d xor.dnn -o link.c --header link.h 2>err
if is_link_to link.c real.c && is_link_to link.h real.h && is_link_to link.d real.d &&
   grep -q 'xor_forward' real.c && grep -q '#include "link.h"' real.c && grep -q 'xor_forward' real.h &&
   grep -q '^link.c link.h: ' real.d && no_temporaries .; then
    pass dnnc_symlinks_followed
else
    fail dnnc_symlinks_followed "$(ls -l link.* real.* | tr '\n' ' ')"
fi
# a link to another directory: the file there is replaced, its temporary file made there
mkdir -p sub far
echo old >far/model.c
ln -s ../far/model.c sub/model.c
ln -s model.c sub/chain.c            # a chain: sub/chain.c -> sub/model.c -> far/model.c
"$dnnc" xor.dnn -o sub/chain.c --header sub/chain.h 2>err
ok dnnc_symlink_chain '[ -L sub/chain.c ] && [ -L sub/model.c ] && grep -q xor_forward far/model.c && no_temporaries sub far' \
    "$(ls -l sub far | tr '\n' ' ')"
ln -s made.c dangling.c
"$dnnc" xor.dnn -o dangling.c 2>err
ok dnnc_dangling_symlink 'is_link_to dangling.c made.c && grep -q xor_forward made.c && [ -f dangling.h ]'
"$dnnc" --emit=report xor.dnn -o link.c 2>err
ok dnnc_emit_text_through_symlink 'is_link_to link.c real.c && grep -q "^RAM of the model: " real.c'

# a FIFO: written in place (the header's text first, so the C compiles alone); it stays a FIFO
mkfifo fifo.c
timeout 20 cat fifo.c >from_fifo.c &  # (a FIFO replaced by a file would leave it waiting)
reader=$!
"$dnnc" xor.dnn -o fifo.c 2>err
rc=$?
wait $reader
if [ $rc -eq 0 ] && [ -p fifo.c ] && [ ! -e fifo.h ] &&
   ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" -c from_fifo.c -o from_fifo.o 2>>err; then
    pass dnnc_fifo
else
    fail dnnc_fifo "exit $rc: $(head -n 2 err)"
fi

# a FIFO whose reader leaves early: dnnc dies of SIGPIPE, and the header's temporary file goes with it
mkfifo early.c
timeout 20 head -c 10 early.c >/dev/null &
# (C larger than a pipe's buffer: the weights as hexadecimal constants)
"$dnnc" --inference --embed-weights "$root/tests/golden/data/lenet5.weights.safetensors" "$root/tests/golden/cases/lenet5.dnn" \
    -o early.c --header early.h 2>err
rc=$?
wait
ok dnnc_fifo_reader_leaves '[ $rc -eq 141 ] && [ ! -e early.h ] && no_temporaries .' "exit $rc: $(ls | tr '\n' ' ')"

# an error writes nothing, through links and devices alike
echo 'model m { input x[2]; out = x +; }' >bad.dnn
echo old >real.c
"$dnnc" bad.dnn -o link.c 2>/dev/null
"$dnnc" bad.dnn -o "$null" 2>/dev/null
ok dnnc_error_writes_nothing '[ "$(cat real.c)" = old ] && is_link_to link.c real.c && is_null'

# a directory: a clear error, nothing written or lost
mkdir dir && echo keep >dir/inside
"$dnnc" xor.dnn -o dir 2>err
rc=$?
if [ $rc -eq 3 ] && [ "$(cat err)" = "dnnc: error: cannot write 'dir': Is a directory" ] &&
   [ "$(ls dir)" = inside ] && [ ! -e dir.h ] && no_temporaries .; then
    pass dnnc_directory
else
    fail dnnc_directory "exit $rc: $(cat err)"
fi
rm -f other.c
"$dnnc" xor.dnn -o other.c --header dir 2>err
rc=$?
ok dnnc_header_directory '[ $rc -eq 3 ] && [ ! -e other.c ] && grep -q "cannot write .dir.: Is a directory" err' "exit $rc: $(cat err)"

# the input, or one output twice, is refused (exit 2), as cc refuses -o x.c for x.c
cp xor.dnn keep.dnn && ln -s keep.dnn keep_link.c
bad=
for args in "-o keep.dnn" "-o keep_link.c" "--header keep.dnn -o k.c" "-MD -MF keep.dnn -o k.c" \
            "--emit=dot -o keep.dnn" "-o k.c --header k.c" "-o k.c -MD -MF k.c"; do
    "$dnnc" keep.dnn $args 2>err
    rc=$?
    if [ $rc -ne 2 ] || ! cmp -s keep.dnn xor.dnn || [ -e k.c ] || ! grep -q "the input file\|name them apart" err; then
        bad="$bad [$args: exit $rc, $(cat err)]"
    fi
done
"$dnnc" - -o keep.dnn <keep.dnn 2>err
[ $? -eq 2 ] && cmp -s keep.dnn xor.dnn || bad="$bad [- -o keep.dnn <keep.dnn: $(cat err)]"
ok dnnc_input_and_outputs_apart '[ -z "$bad" ]' "$bad"

# one output that cannot be written: none is (an empty name made a temporary file and failed only at the rename)
"$dnnc" xor.dnn -o none.c --header "" 2>err
rc=$?
ok dnnc_one_bad_output_writes_none '[ $rc -eq 3 ] && [ ! -e none.c ] && no_temporaries .' "exit $rc: $(cat err); $(ls)"

# a read-only directory, as a user who cannot write it
mkdir ro && echo old >ro/old.c && chmod 666 ro/old.c && chmod 555 ro
ln -s ro/old.c to_ro.c
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    skip dnnc_read_only_directory "needs root and setpriv, to run as nobody"
else
    as_nobody "$dnnc" xor.dnn -o ro/new.c 2>err
    rc=$?
    as_nobody "$dnnc" xor.dnn -o to_ro.c --header nobody.h 2>err2
    rc2=$?
    if [ $rc -eq 3 ] && [ "$(cat err)" = "dnnc: error: cannot write 'ro/new.c': Permission denied" ] &&
       [ $rc2 -eq 3 ] && [ "$(cat err2)" = "dnnc: error: cannot write 'to_ro.c': Permission denied" ] &&
       [ "$(ls ro)" = old.c ] && [ "$(cat ro/old.c)" = old ] && [ ! -e nobody.h ]; then
        pass dnnc_read_only_directory
    else
        fail dnnc_read_only_directory "exit $rc, $rc2: $(cat err err2 | tr '\n' ' '); ro: $(ls ro | tr '\n' ' ')"
    fi
fi

# ---- the training program -------------------------------------------------------------------
if ! "$dnnc" --main iris.dnn -o iris_prog.c 2>err ||
   ! ${CC:-cc} -std=c99 -O2 -I"$root/runtime" iris_prog.c "$root/build/libdnnrt.a" -lz -lm -o iris 2>err; then
    fail program.build "$(head -n 3 err)"
    exit 0
fi
mkdir run && cd run || exit 2
echo old >real.safetensors; ln -s real.safetensors w.safetensors   # --save: a link to a file
ln -s "$null" w.log.csv                                            # --log: a link to a device
echo old >real.svg; ln -s real.svg w.svg                           # the SVG beside the log: a link
ln -s made.ckpt w.ckpt                                             # the checkpoint: a dangling link
../iris train ../iris.csv --epochs 2 --quiet --save w.safetensors --log w.log.csv >out 2>err
rc=$?
if [ $rc -eq 0 ] && is_link_to w.safetensors real.safetensors && [ "$(head -c 3 real.safetensors)" != old ] &&
   is_link_to w.log.csv "$null" && is_null && is_link_to w.svg real.svg && grep -q '<svg' real.svg &&
   is_link_to w.ckpt made.ckpt && [ -s made.ckpt ] && no_temporaries . && [ ! -s err ]; then
    pass program_train_links_and_device
else
    fail program_train_links_and_device "exit $rc: $(head -n 2 err) $(ls -l | tr '\n' ' ')"
fi
# the weights written through the link load again
../iris eval ../iris.csv --weights w.safetensors >out 2>err
ok program_weights_through_link 'grep -q accuracy out' "$(cat err)"

../iris predict ../iris.csv --weights w.safetensors --out "$null" >out 2>err
ok program_predict_null_device '[ $? -eq 0 ] && [ ! -s out ] && [ ! -s err ] && is_null' "$(cat err; ls -l "$null")"
mkfifo pred.fifo
timeout 20 cat pred.fifo >from_fifo.csv &
reader=$!
../iris predict ../iris.csv --weights w.safetensors --out pred.fifo >out 2>err
rc=$?
wait $reader
ok program_predict_fifo '[ $rc -eq 0 ] && [ -p pred.fifo ] && [ $(wc -l <from_fifo.csv) -eq 151 ]' "exit $rc: $(cat err)"
echo old >real.csv; ln -s real.csv conf.csv
../iris eval ../iris.csv --weights w.safetensors --confusion conf.csv >out 2>err
ok program_confusion_symlink '[ $? -eq 0 ] && is_link_to conf.csv real.csv && [ $(wc -l <real.csv) -eq 4 ]' "$(cat err)"

mkdir dir && echo keep >dir/inside
../iris predict ../iris.csv --weights w.safetensors --out dir >out 2>err
rc=$?
ok program_predict_directory '[ $rc -eq 3 ] && grep -q "cannot write .dir.: Is a directory" err && [ "$(ls dir)" = inside ]' \
    "exit $rc: $(cat err)"
../iris eval ../iris.csv --weights w.safetensors --confusion dir >out 2>err
rc=$?
ok program_confusion_directory '[ $rc -eq 3 ] && grep -q "dir: cannot write: Is a directory" err && [ "$(ls dir)" = inside ]' \
    "exit $rc: $(cat err)"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    skip program_read_only_directory "needs root and setpriv, to run as nobody"
else
    mkdir ro && echo old >ro/p.csv && chmod 666 ro/p.csv && chmod 555 ro && chmod 755 .
    as_nobody ../iris predict ../iris.csv --weights w.safetensors --out ro/p.csv >out 2>err
    rc=$?
    as_nobody ../iris train ../iris.csv --epochs 1 --quiet --save ro/w.safetensors >out 2>err2
    rc2=$?
    if [ $rc -eq 3 ] && grep -q "cannot write 'ro/p.csv': Permission denied" err && [ "$(cat ro/p.csv)" = old ] &&
       [ $rc2 -eq 3 ] && grep -q "Permission denied" err2 && [ "$(ls ro)" = p.csv ]; then
        pass program_read_only_directory
    else
        fail program_read_only_directory "exit $rc, $rc2: $(cat err err2 | head -n 3 | tr '\n' ' '); ro: $(ls ro | tr '\n' ' ')"
    fi
fi
cd .. || exit 2

# nothing is made beside a device: --save to one keeps the checkpoint, log, curves and
# settings in a run directory (not $null.ckpt, $null.log.csv ... beside it), and --resume
# alone finds them there; --log to one puts the curves and settings beside the weights
mkdir beside && cd beside || exit 2
beside_null() { ls "$null".* 2>/dev/null | tr '\n' ' '; }
../iris train ../iris.csv --epochs 3 --quiet --save "$null" --stop-after 4 >out 2>err
rc=$?
../iris train ../iris.csv --epochs 3 --quiet --save "$null" --resume >out2 2>err2
rc2=$?
if [ $rc -eq 130 ] && [ $rc2 -eq 0 ] && is_null && [ -z "$(beside_null)" ] &&
   [ "$(ls runs/iris-1 | tr '\n' ' ')" = "iris.ckpt iris.log.csv iris.settings.json iris.svg " ] &&
   grep -q "$null is not a regular file: the files beside it (the checkpoint, log, curves and settings) go to runs/iris-1" err &&
   grep -q "continue with the same command and --resume$" out && grep -q "^resuming runs/iris-1/iris.ckpt" out2 &&
   [ "$(wc -l <runs/iris-1/iris.log.csv)" -eq 5 ] && [ ! -e runs/iris-2 ]; then
    pass program_save_device_nothing_beside
else
    fail program_save_device_nothing_beside "exit $rc, $rc2; beside $null: $(beside_null); $(ls runs/* | tr '\n' ' '); $(head -n 1 err)"
fi
../iris train ../iris.csv --epochs 1 --quiet --save w.safetensors --log "$null" >out 2>err
rc=$?
if [ $rc -eq 0 ] && is_null && [ -z "$(beside_null)" ] && grep -q '<svg' w.svg && grep -q '"epochs": 1' w.settings.json &&
   [ ! -e w.log.csv ] && grep -q "$null is not a regular file: the curves and settings go to w.svg and w.settings.json" err; then
    pass program_log_device_nothing_beside
else
    fail program_log_device_nothing_beside "exit $rc; beside $null: $(beside_null); $(ls | tr '\n' ' '); $(head -n 1 err)"
fi
cd .. || exit 2
chmod -R u+w . 2>/dev/null
