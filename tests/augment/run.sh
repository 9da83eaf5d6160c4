#!/bin/sh
# Data augmentation (`augment` in a train block; docs/training.md): the
# transforms of runtime/data/dnn_augment.c against torchvision's results at
# fixed draws (transforms.safetensors, written by make_goldens.py), also under
# ASan and UBSan; then training programs with augmentation (aug.dnn and
# variants of it, on 8 x 8 images made here): the training data changes
# every epoch and the validation data never; no augmentation draws leave
# shuffling and dropout as they were; --resume is bit-identical; the
# augment command's picture, tensors and errors, and its recorded draws
# replayed by torchvision (when /usr/bin/python3 has it).
# Prints "PASS augment.NAME", "FAIL augment.NAME: why" or "SKIP augment.NAME: why".
cd "$(dirname "$0")/../.." || exit 2
. tests/reference_blas.sh # the BLAS the references were derived with; $HAS_MODULE
here=tests/augment
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}

pass() { echo "PASS augment.$1"; }
fail() { echo "FAIL augment.$1: $2"; }
skip() { echo "SKIP augment.$1: $2"; }

# the transforms against torchvision, plain and under the sanitizers
S="-fsanitize=address,undefined -fno-omit-frame-pointer -g1"
for variant in plain asan; do
    if [ $variant = plain ]; then flags="-O2" lib=build/libdnnrt.a; else flags="-O1 $S" lib=build/asan/libdnnrt.a; fi
    if [ $variant = asan ] && ! make -s build/asan/libdnnrt.a >"$tmp/err" 2>&1; then
        skip "asan" "cannot build the runtime with -fsanitize: $(head -1 "$tmp/err")"
        continue
    fi
    if ! $CC -std=c99 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L $flags -Iruntime \
           $here/test_augment.c $lib -lz -lm -o "$tmp/test_$variant" 2>"$tmp/err"; then
        fail "test_augment.$variant.build" "$(head -1 "$tmp/err")"
        continue
    fi
    UBSAN_OPTIONS=halt_on_error=1 "$tmp/test_$variant" $here/transforms.safetensors >"$tmp/out" 2>&1
    rc=$?
    if [ $variant = plain ]; then
        grep -E '^(PASS|FAIL|SKIP) ' "$tmp/out"
    elif grep -q '^FAIL \|Sanitizer\|runtime error' "$tmp/out"; then
        fail "test_augment.asan" "$(grep -m1 '^FAIL \|ERROR\|runtime error' "$tmp/out" | cut -c 1-200)"
    else
        pass "test_augment.asan"
    fi
    if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$tmp/out"; then
        fail "test_augment.$variant" "exited with $rc: $(grep -v '^PASS ' "$tmp/out" | head -1 | cut -c 1-200)"
    fi
done

# ---- training programs -----------------------------------------------------------------
# build NAME MODEL.dnn: the training program $tmp/NAME ($CFLAGS_EXTRA added)
build() {
    if build/dnnc --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" &&
       $CC -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror $CFLAGS_EXTRA -Iruntime "$tmp/$1.c" build/libdnnrt.a -lz -lm \
           -o "$tmp/$1" 2>"$tmp/err"; then
        return 0
    fi
    fail "$1.build" "$(head -2 "$tmp/err" | tr '\n' ' ')"
    return 1
}
# variant NAME 'AUGMENT LINES' [SED]: aug.dnn with other augment lines (and another sed edit)
variant() {
    awk -v lines="$2" '/^ *augment / { if (!done) print lines; done = 1; next } { print }' $here/aug.dnn |
        sed "${3:-s/^//}" >"$tmp/$1.dnn"
    build "$1" "$tmp/$1.dnn"
}
# 250 images of 4 classes (a bar on the left, a bar on top, a diagonal, a centre blob) in noise
awk 'BEGIN { srand(16); for (i = 0; i < 250; i++) { c = i % 4; line = "";
        for (y = 0; y < 8; y++) for (x = 0; x < 8; x++) {
            v = 0.3 * rand()
            if ((c == 0 && x < 3) || (c == 1 && y < 3) || (c == 2 && (x - y) * (x - y) < 2) ||
                (c == 3 && (x - 3.5) ^ 2 + (y - 3.5) ^ 2 < 5)) v += 0.7
            line = line sprintf("%.4f,", v) }
        print line c } }' >"$tmp/images.csv"
head -n 200 "$tmp/images.csv" >"$tmp/train.csv"
tail -n 50 "$tmp/images.csv" >"$tmp/val.csv"
T="$tmp/train.csv --val $tmp/val.csv --quiet"

# the training data changes every epoch, the validation data never: with every weight frozen
# and the file order kept, the training loss differs from epoch to epoch only with augmentation,
# and the validation loss is the same in every epoch, with augmentation or without
# (epochs 1 on: epoch 0, the initial weights' loss, is measured without augmentation)
col() { cut -d, -f"$1" "$2" | tail -n +3 | sort -u | wc -l; }
# (no dropout)
frozen='s/ |> dropout(0.2)//; s/^\( *\)loss \(.*\)/\1loss \2\n\1freeze h;/; s/epochs 3;/epochs 3; shuffle false;/'
if variant frozen "$(grep '^ *augment ' $here/aug.dnn)" "$frozen" && variant frozen_plain "" "$frozen"; then
    "$tmp/frozen" train $T --save "$tmp/fa.safetensors" >/dev/null 2>&1 &&
    "$tmp/frozen_plain" train $T --save "$tmp/fp.safetensors" >/dev/null 2>&1
    if [ "$(col 3 "$tmp/fa.log.csv")" -eq 3 ] && [ "$(col 3 "$tmp/fp.log.csv")" -eq 1 ] &&
       [ "$(col 5 "$tmp/fa.log.csv")" -eq 1 ] &&
       [ "$(cut -d, -f5 "$tmp/fa.log.csv")" = "$(cut -d, -f5 "$tmp/fp.log.csv")" ]; then
        pass "train.changes_every_epoch_not_validation (train loss $(cut -d, -f3 "$tmp/fa.log.csv" | tail -n +3 | tr '\n' ' ')/ without $(cut -d, -f3 "$tmp/fp.log.csv" | sed -n 3p))"
    else
        fail train.changes_every_epoch_not_validation "logs: $(tr '\n' ' ' <"$tmp/fa.log.csv") | $(tr '\n' ' ' <"$tmp/fp.log.csv")"
    fi
fi
CFLAGS_EXTRA=

# augmentation draws from its own generator: transforms that change nothing (noise of std 0,
# a flip of probability 0) leave shuffling and dropout as they were, to the bit
if build aug $here/aug.dnn && variant plain "" &&
   variant nothing "        augment noise(std = 0);
        augment hflip(p = 0);"; then
    for v in aug plain nothing; do "$tmp/$v" train $T --save "$tmp/$v.safetensors" >/dev/null 2>&1; done
    if cmp -s "$tmp/plain.safetensors" "$tmp/nothing.safetensors" && ! cmp -s "$tmp/plain.safetensors" "$tmp/aug.safetensors"; then
        pass train.own_generator
    else
        fail train.own_generator "no-op augmentation changed the weights, or augmentation changed nothing"
    fi
fi

# --resume after --stop-after (in the first epoch, and in the second) ends bit-identical
for stop in 5 17; do
    "$tmp/aug" train $T --save "$tmp/r$stop.safetensors" --stop-after $stop >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 130 ] && "$tmp/aug" train $T --save "$tmp/r$stop.safetensors" --resume "$tmp/r$stop.ckpt" >/dev/null 2>&1 &&
       cmp -s "$tmp/aug.safetensors" "$tmp/r$stop.safetensors" &&
       [ "$(cut -d, -f1-6 "$tmp/aug.log.csv")" = "$(cut -d, -f1-6 "$tmp/r$stop.log.csv")" ]; then
        pass "resume.bit_identical ($(grep -o 'epoch [0-9]*, batch [0-9]*' "$tmp/out"))"
    else
        fail resume.bit_identical "stopped after $stop batches (exit $rc): the resumed run differs"
    fi
done
# a checkpoint written without augmentation does not resume with it
"$tmp/plain" train $T --save "$tmp/p.safetensors" --stop-after 3 >/dev/null 2>&1
"$tmp/aug" train $T --save "$tmp/p.safetensors" --resume "$tmp/p.ckpt" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "p.ckpt has no augmentation state: it was written by a program without 'augment'" "$tmp/err"; then
    pass resume.needs_augment_state
else
    fail resume.needs_augment_state "exit $rc: $(head -1 "$tmp/err")"
fi

# ---- the augment command --------------------------------------------------------------------
# a picture, the tensors with the draws, a .npy; the same seed gives the same bytes, another seed others
if "$tmp/aug" augment "$tmp/train.csv" --out "$tmp/a.png" >"$tmp/out" 2>&1 &&
   [ "$(head -c 8 "$tmp/a.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
   grep -q "a.png: 200 samples of 'image' augmented (the first 32 shown, each beside its original)" "$tmp/out"; then
    pass command.png
else
    fail command.png "$(head -1 "$tmp/out")"
fi
"$tmp/aug" augment "$tmp/train.csv" --limit 60 --out "$tmp/a1.safetensors" >/dev/null 2>&1
"$tmp/aug" augment "$tmp/train.csv" --limit 60 --out "$tmp/a2.safetensors" >/dev/null 2>&1
"$tmp/aug" augment "$tmp/train.csv" --limit 60 --out "$tmp/a3.safetensors" --seed 6 >/dev/null 2>&1
"$tmp/aug" augment "$tmp/train.csv" --limit 60 --out "$tmp/a.npy" >/dev/null 2>&1
if [ -s "$tmp/a1.safetensors" ] && cmp -s "$tmp/a1.safetensors" "$tmp/a2.safetensors" &&
   ! cmp -s "$tmp/a1.safetensors" "$tmp/a3.safetensors" && grep -q '"augment.2.rotate"' "$tmp/a1.safetensors" &&
   [ "$(head -c 6 "$tmp/a.npy" | tail -c 5)" = NUMPY ]; then
    pass command.tensors
else
    fail command.tensors "files: $(ls "$tmp" | grep '^a' | tr '\n' ' ')"
fi
# torchvision replays the recorded draws on the originals and gets the augmented samples
if ! /usr/bin/python3 -c "$HAS_MODULE" torchvision 2>/dev/null; then
    skip command.torchvision_replay "python3-torchvision is not installed"
elif /usr/bin/python3 $here/replay.py "$tmp/a1.safetensors" image >"$tmp/out" 2>&1; then
    pass "command.torchvision_replay ($(cat "$tmp/out"))"
else
    fail command.torchvision_replay "$(tail -1 "$tmp/out")"
fi
# misuse: exit 2 and a message
cat >"$tmp/vec.dnn" <<'EOF2'
model vec {
    input x[4];
    target y[1];
    out = dense(x, 1);
    output out;
    loss mse(out, y);
    train { augment noise(std = 0.1); }
}
EOF2
build vec "$tmp/vec.dnn"
misuse() { # misuse NAME MESSAGE PROGRAM ARGS...
    name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$want" "$tmp/err"; then pass "command.$name"; else fail "command.$name" "exit $rc: $(head -1 "$tmp/err")"; fi
}
misuse no_out "error: 'augment' needs --out FILE: .png (a picture), .safetensors (with the draws) or .npy" \
    "$tmp/aug" augment "$tmp/train.csv"
misuse no_augment "error: model 'aug' has no 'augment' settings in its train block" "$tmp/plain" augment "$tmp/train.csv" --out "$tmp/p.png"
printf '1,2,3,4\n' >"$tmp/vec.csv"
misuse png_needs_image "error: --out $tmp/v.png: a picture needs an image input [C, H, W]; 'x' is not one" \
    "$tmp/vec" augment "$tmp/vec.csv" --out "$tmp/v.png"
if "$tmp/vec" augment "$tmp/vec.csv" --out "$tmp/v.safetensors" >/dev/null 2>&1; then
    pass command.noise_on_a_vector
else
    fail command.noise_on_a_vector "exit $?"
fi

# training and the augment command under ASan and UBSan
if ! make -s build/asan/libdnnrt.a >"$tmp/err" 2>&1 ||
   ! $CC -std=c99 -O1 $S -D_POSIX_C_SOURCE=200809L -Iruntime "$tmp/aug.c" build/asan/libdnnrt.a -lz -lm \
       -o "$tmp/aug_asan" 2>>"$tmp/err"; then
    skip sanitizers "cannot build with -fsanitize: $(head -1 "$tmp/err")"
else
    bad=
    for args in "train $T --save $tmp/s.safetensors --stop-after 4" "train $T --save $tmp/s.safetensors --resume $tmp/s.ckpt" \
                "train $T --standardize --epochs 1 --save $tmp/z.safetensors" \
                "augment $tmp/train.csv --out $tmp/s.png" "augment $tmp/train.csv --out $tmp/s.safetensors" \
                "augment $tmp/train.csv --out $tmp/s.npy --limit 3" "augment $tmp/train.csv" "augment $tmp/missing.csv --out $tmp/m.png"; do
        UBSAN_OPTIONS=halt_on_error=1 "$tmp/aug_asan" $args >/dev/null 2>"$tmp/err"
        rc=$?
        if [ $rc -gt 3 ] && [ $rc -ne 130 ] || grep -q "Sanitizer\|runtime error" "$tmp/err"; then
            bad="$bad [$args: exit $rc $(grep -m1 'ERROR\|runtime error' "$tmp/err")]"
        fi
    done
    if [ -z "$bad" ]; then pass sanitizers; else fail sanitizers "$bad"; fi
fi
