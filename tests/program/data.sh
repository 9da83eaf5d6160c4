#!/bin/sh
# Training programs (dnnc --main) given data of a stranger's making: class
# names that travel with the weights (test files missing a class, unknown
# labels, --class-names, --val, --resume), CSV columns taken by name or by
# position but never half and half, --center and --standardize=channel,
# the preprocessing reproduced on the device by NAME_preprocess
# (--embed-weights), batchnorm on a batch of one, the validation split (the
# same run as its parts given as files), and the messages for bad weights
# files, the log's learning rate and the progress of long runs.
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
# (epoch 0, the initial weights, and epoch 1)
if grep -q "^0,0.01," "$tmp/es.log.csv" && grep -q "^1,0.01," "$tmp/es.log.csv"; then
    pass words.log_lr_shortest
else
    fail words.log_lr_shortest "$(sed -n 2,3p "$tmp/es.log.csv" | tr '\n' ' ')"
fi

# ---- progress on a terminal: every epoch draws, about 25 summaries stay ----------------------------
printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$tmp/xor.csv"
# (and one sample is "1 sample")
head -2 "$tmp/xor.csv" >"$tmp/one.csv"
"$tmp/xor" train "$tmp/one.csv" --epochs 1 --quiet --save "$tmp/o.safetensors" >"$tmp/out" 2>&1
"$tmp/xor" eval "$tmp/one.csv" --weights "$tmp/o.safetensors" >>"$tmp/out" 2>&1
if grep -q "^training xor on 1 sample, 1 epoch," "$tmp/out" && grep -q "^xor on 1 sample: loss" "$tmp/out"; then
    pass words.one_sample
else
    fail words.one_sample "$(tr '\n' '|' <"$tmp/out")"
fi
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

# ---- class names travel with the weights -------------------------------------------------------------
# three kinds of pets in two measurements; every file below is made here
cat >"$tmp/pets.dnn" <<'EOF2'
model pets {
    input  x[2];
    target kind : class(3);
    logits = x |> dense(8) |> relu |> dense(3);
    output probs = softmax(logits);
    loss   cross_entropy(logits, kind);
    train { optimizer adam(lr = 0.05); batch 8; epochs 40; seed 3; }
}
EOF2
build pets "$tmp/pets.dnn"
# pets N SEED KINDS: N rows per kind of "x1,x2,kind", each kind around its own centre
pets() {
    awk -v n="$1" -v seed="$2" -v kinds="$3" 'BEGIN {
        srand(seed); split(kinds, k, ",")
        cx["cat"] = 0; cy["cat"] = 0; cx["dog"] = 4; cy["dog"] = 4; cx["bird"] = 0; cy["bird"] = 4; cx["horse"] = 4; cy["horse"] = 0
        for (i = 1; i <= n; i++) for (j = 1; j in k; j++)
            printf "%.3f,%.3f,%s\n", cx[k[j]] + rand() - 0.5, cy[k[j]] + rand() - 0.5, k[j]
    }'
}
{ echo x1,x2,kind; pets 20 1 cat,dog,bird; } >"$tmp/pets.csv"
{ echo x1,x2,kind; pets 10 2 dog; } >"$tmp/dogs.csv"
# accuracy FILE: the accuracy eval printed into FILE
accuracy() { sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$1" | head -1; }
"$tmp/pets" train "$tmp/pets.csv" --quiet --save "$tmp/pets.safetensors" >/dev/null 2>&1
"$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pets.safetensors" >"$tmp/eval" 2>&1
acc=$(accuracy "$tmp/eval")
if [ "$acc" = "100.00" ] && grep -q "^ *dog .* 10 .*100" "$tmp/eval"; then
    pass "labels.test_file_of_one_class ($acc%)"
else
    fail labels.test_file_of_one_class "accuracy '$acc': $(tr '\n' '|' <"$tmp/eval" | head -c 300)"
fi
"$tmp/pets" predict "$tmp/dogs.csv" --weights "$tmp/pets.safetensors" >"$tmp/pred" 2>&1
if [ "$(grep -c ',dog$' "$tmp/pred")" -eq 10 ]; then
    pass labels.predict_names
else
    fail labels.predict_names "$(sed -n 2p "$tmp/pred")"
fi
# --val in the same run: a validation file of dogs only scores by the training data's classes
"$tmp/pets" train "$tmp/pets.csv" --val "$tmp/dogs.csv" --quiet --save "$tmp/pv.safetensors" >/dev/null 2>&1
if tail -1 "$tmp/pv.log.csv" | awk -F, '{ exit !($6 == 1) }'; then
    pass labels.val_file_of_one_class
else
    fail labels.val_file_of_one_class "last log line: $(tail -1 "$tmp/pv.log.csv")"
fi
# a label the classes do not know: the file, the line and the label
{ echo x1,x2,kind; pets 2 4 dog,horse; } >"$tmp/horse.csv"
expect_error labels.unknown_in_eval 1 "horse.csv:3: label 'horse' is not a class of 'kind' (bird, cat, dog, from $tmp/pets.safetensors)" \
    "$tmp/pets" eval "$tmp/horse.csv" --weights "$tmp/pets.safetensors"
expect_error labels.unknown_in_val 1 "horse.csv:3: label 'horse' is not a class of 'kind' (bird, cat, dog, from $tmp/pets.csv)" \
    "$tmp/pets" train "$tmp/pets.csv" --val "$tmp/horse.csv" --quiet --save "$tmp/no.safetensors"
# numbers in a later file are class indices (bird 0, cat 1, dog 2)
sed -e 's/,bird$/,0/' -e 's/,cat$/,1/' -e 's/,dog$/,2/' "$tmp/dogs.csv" >"$tmp/dogs_numbered.csv"
"$tmp/pets" eval "$tmp/dogs_numbered.csv" --weights "$tmp/pets.safetensors" >"$tmp/eval" 2>&1
if [ "$(accuracy "$tmp/eval")" = "100.00" ]; then
    pass labels.numbers_are_indices
else
    fail labels.numbers_are_indices "$(head -1 "$tmp/eval")"
fi
# --class-names fixes the order, text labels follow it, and the weights keep it
"$tmp/pets" train "$tmp/pets.csv" --class-names dog,cat,bird --quiet --save "$tmp/pn.safetensors" >/dev/null 2>&1
"$tmp/pets" eval "$tmp/dogs_numbered.csv" --weights "$tmp/pn.safetensors" >"$tmp/eval" 2>&1 # 2 is bird now
"$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pn.safetensors" >"$tmp/eval2" 2>&1
if [ "$(accuracy "$tmp/eval")" = "0.00" ] && [ "$(accuracy "$tmp/eval2")" = "100.00" ] &&
   "$tmp/pets" predict "$tmp/dogs.csv" --weights "$tmp/pn.safetensors" | sed -n 2p | grep -q ',dog$'; then
    pass labels.class_names_order
else
    fail labels.class_names_order "$(head -1 "$tmp/eval") / $(head -1 "$tmp/eval2")"
fi
expect_error labels.class_names_unknown_label 1 "pets.csv:2: label 'cat' is not a class of 'kind' (dog, bird, from --class-names)" \
    "$tmp/pets" train "$tmp/pets.csv" --class-names dog,bird --quiet --save "$tmp/no.safetensors"
expect_error labels.class_names_too_many 2 "--class-names gives 4 names, but 'kind' has 3 classes" \
    "$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pets.safetensors" --class-names a,b,c,d
expect_error labels.class_names_twice 2 "--class-names: 'a' is there twice" \
    "$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pets.safetensors" --class-names a,b,a
"$tmp/pets" eval "$tmp/dogs_numbered.csv" --weights "$tmp/pets.safetensors" --class-names x,y,z >"$tmp/out" 2>&1
if grep -q "note: --class-names replaces the class names of 'kind' in $tmp/pets.safetensors (bird, cat, dog)" "$tmp/out" &&
   grep -q "^ *z .* 10" "$tmp/out"; then
    pass labels.class_names_replace_with_note
else
    fail labels.class_names_replace_with_note "$(head -3 "$tmp/out" | tr '\n' '|')"
fi
# weights trained on numbers name no classes: text labels then need --class-names
sed -e 's/,bird$/,0/' -e 's/,cat$/,1/' -e 's/,dog$/,2/' "$tmp/pets.csv" >"$tmp/pets_numbered.csv"
"$tmp/pets" train "$tmp/pets_numbered.csv" --quiet --save "$tmp/pnum.safetensors" >/dev/null 2>&1
expect_error labels.text_without_names 1 "dogs.csv: column 3 holds text labels ('dog', ...), but no class names of 'kind' are known" \
    "$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pnum.safetensors"
"$tmp/pets" eval "$tmp/dogs.csv" --weights "$tmp/pnum.safetensors" --class-names bird,cat,dog >"$tmp/eval" 2>&1
if [ "$(accuracy "$tmp/eval")" = "100.00" ]; then
    pass labels.text_with_class_names
else
    fail labels.text_with_class_names "$(head -2 "$tmp/eval" | tr '\n' '|')"
fi
# starting from weights (fine-tuning) on dogs alone keeps the weights' classes
"$tmp/pets" train "$tmp/dogs.csv" --weights "$tmp/pets.safetensors" --epochs 2 --quiet --save "$tmp/ft.safetensors" \
    >/dev/null 2>&1
"$tmp/pets" eval "$tmp/pets.csv" --weights "$tmp/ft.safetensors" >"$tmp/eval" 2>&1
if awk -v a="$(accuracy "$tmp/eval")" 'BEGIN { exit !(a > 90) }' && grep -q "^ *bird " "$tmp/eval"; then
    pass "labels.weights_keep_classes ($(accuracy "$tmp/eval")%)"
else
    fail labels.weights_keep_classes "$(head -1 "$tmp/eval")"
fi
# --resume: the checkpoint's class names and preprocessing, bit for bit as an uninterrupted run
"$tmp/pets" train "$tmp/pets.csv" --standardize --quiet --save "$tmp/r1.safetensors" >/dev/null 2>&1
"$tmp/pets" train "$tmp/pets.csv" --standardize --quiet --stop-after 25 --save "$tmp/r2.safetensors" >/dev/null 2>&1
"$tmp/pets" train "$tmp/pets.csv" --quiet --resume "$tmp/r2.ckpt" --save "$tmp/r2.safetensors" >/dev/null 2>&1
if cmp -s "$tmp/r1.safetensors" "$tmp/r2.safetensors"; then
    pass labels.resume_keeps_classes_and_preprocessing
else
    fail labels.resume_keeps_classes_and_preprocessing "the resumed weights differ"
fi

# ---- CSV columns: all by name, or all by position ---------------------------------------------------
# an id column before the features: the header names kind but not x, and the rest do not line up
awk -F, 'NR == 1 { print "id," $0; next } { print NR - 1 "," $0 }' "$tmp/pets.csv" >"$tmp/ids.csv"
expect_error columns.id_column 1 "ids.csv: the header names the columns of some of the model's inputs and targets but not all" \
    "$tmp/pets" train "$tmp/ids.csv" --quiet --save "$tmp/no.safetensors"
if grep -qF "note: header: id,x1,x2,kind" "$tmp/err" && grep -qF "note: matched: kind = column 4" "$tmp/err" &&
   grep -qF "note: left over: the model's x (2 columns); the file's columns 1 (id), 2 (x1), 3 (x2)" "$tmp/err" &&
   grep -qF "note: name every column (x.0, x.1, kind), or choose them with --map NAME=COLUMNS" "$tmp/err"; then
    pass columns.id_column_explained
else
    fail columns.id_column_explained "$(tr '\n' '|' <"$tmp/err")"
fi
# ... which --map settles, or naming x's columns x.0 and x.1: then the id is left alone
"$tmp/pets" train "$tmp/ids.csv" --map x=2-3 --quiet --save "$tmp/m.safetensors" >"$tmp/out" 2>&1
sed '1s/.*/id,x.0,x.1,kind/' "$tmp/ids.csv" >"$tmp/named.csv"
"$tmp/pets" train "$tmp/named.csv" --quiet --save "$tmp/n.safetensors" >>"$tmp/out" 2>&1
if cmp -s "$tmp/m.safetensors" "$tmp/pets.safetensors" && cmp -s "$tmp/n.safetensors" "$tmp/pets.safetensors"; then
    pass columns.map_or_names_ignore_the_id
else
    fail columns.map_or_names_ignore_the_id "$(head -2 "$tmp/out")"
fi
# every column by name, in any order
awk -F, -v OFS=, 'NR == 1 { print "kind", "x.1", "x.0"; next } { print $3, $2, $1 }' "$tmp/pets.csv" >"$tmp/shuffled.csv"
if "$tmp/pets" train "$tmp/shuffled.csv" --quiet --save "$tmp/s.safetensors" >"$tmp/out" 2>&1 &&
   cmp -s "$tmp/s.safetensors" "$tmp/pets.safetensors"; then
    pass columns.by_name_any_order
else
    fail columns.by_name_any_order "$(head -2 "$tmp/out")"
fi
# a name where the positions put another column
awk -F, -v OFS=, '{ print $3, $1, $2 }' "$tmp/pets.csv" >"$tmp/kind_first.csv"
expect_error columns.name_out_of_place 1 "kind_first.csv: the header names the columns of some of the model's inputs" \
    "$tmp/pets" train "$tmp/kind_first.csv" --quiet --save "$tmp/no.safetensors"
# one element's name where the positions put another column: id,x.0,kind is not x = (id, x.0)
awk -F, -v OFS=, 'NR == 1 { print "id", "x.0", "kind"; next } { print NR - 1, $1, $3 }' "$tmp/pets.csv" >"$tmp/partial.csv"
expect_error columns.element_name_out_of_place 1 "partial.csv: the header names the columns of some of the model's inputs" \
    "$tmp/pets" train "$tmp/partial.csv" --quiet --save "$tmp/no.safetensors"
if grep -qF "note: left over: the model's x (2 columns); the file's columns 1 (id), 2 (x.0)" "$tmp/err"; then
    pass columns.element_name_out_of_place_explained
else
    fail columns.element_name_out_of_place_explained "$(tr '\n' '|' <"$tmp/err")"
fi
# ... and in its place it agrees: x.0,b,kind is x = (x.0, b)
sed '1s/.*/x.0,b,kind/' "$tmp/pets.csv" >"$tmp/x0.csv"
if "$tmp/pets" train "$tmp/x0.csv" --quiet --save "$tmp/x0.safetensors" >"$tmp/out" 2>&1 &&
   cmp -s "$tmp/x0.safetensors" "$tmp/pets.safetensors"; then
    pass columns.element_name_in_place
else
    fail columns.element_name_in_place "$(head -2 "$tmp/out")"
fi
# names that are nobody's: by position, as before
sed '1s/.*/a,b,c/' "$tmp/pets.csv" >"$tmp/abc.csv"
if "$tmp/pets" train "$tmp/abc.csv" --quiet --save "$tmp/a.safetensors" >"$tmp/out" 2>&1 &&
   cmp -s "$tmp/a.safetensors" "$tmp/pets.safetensors"; then
    pass columns.by_position
else
    fail columns.by_position "$(head -2 "$tmp/out")"
fi
# predict: the targets' columns may be there, by position or by name
if "$tmp/pets" predict "$tmp/pets.csv" --weights "$tmp/pets.safetensors" >/dev/null 2>"$tmp/err" &&
   "$tmp/pets" predict "$tmp/named.csv" --weights "$tmp/pets.safetensors" >/dev/null 2>>"$tmp/err"; then
    pass columns.predict_ignores_targets
else
    fail columns.predict_ignores_targets "$(head -2 "$tmp/err")"
fi
expect_error columns.predict_id_column 1 "ids.csv: the header names the columns of some of the model's inputs" \
    "$tmp/pets" predict "$tmp/ids.csv" --weights "$tmp/pets.safetensors"
# two files: inputs from one, the labels from the other
cut -d, -f1-2 "$tmp/pets.csv" >"$tmp/xs.csv"
cut -d, -f3 "$tmp/pets.csv" >"$tmp/kinds.csv"
if "$tmp/pets" train "$tmp/xs.csv" "$tmp/kinds.csv" --quiet --save "$tmp/t.safetensors" >"$tmp/out" 2>&1 &&
   cmp -s "$tmp/t.safetensors" "$tmp/pets.safetensors"; then
    pass columns.two_files
else
    fail columns.two_files "$(head -2 "$tmp/out")"
fi
# named by header, but a slot's columns are missing and no file follows
sed '1s/.*/x.0,x.1,species/' "$tmp/pets.csv" >"$tmp/species.csv"
expect_error columns.named_but_one_missing 1 "species.csv: --map or the header gives the columns of some of the model's inputs" \
    "$tmp/pets" train "$tmp/species.csv" --quiet --save "$tmp/no.safetensors"
# a column too many after the named label; a header that names nothing, one column too many
awk -F, -v OFS=, '{ print $0, NR == 1 ? "extra" : NR }' "$tmp/pets.csv" >"$tmp/extra.csv"
expect_error columns.extra_after_names 1 "extra.csv: the header names the columns of some of the model's inputs" \
    "$tmp/pets" train "$tmp/extra.csv" --quiet --save "$tmp/no.safetensors"
sed '1s/.*/a,b,c,d/' "$tmp/extra.csv" >"$tmp/abcd.csv"
expect_error columns.no_names_too_many 1 "abcd.csv: its 4 columns do not line up by position with the 3 of the model's inputs and targets, and the header names none of them" \
    "$tmp/pets" train "$tmp/abcd.csv" --quiet --save "$tmp/no.safetensors"
if grep -qF "note: left over: the model's x (2 columns), kind (1 column); the file's columns 1 (a), 2 (b), 3 (c), 4 (d)" "$tmp/err"; then
    pass columns.no_names_too_many_explained
else
    fail columns.no_names_too_many_explained "$(tr '\n' '|' <"$tmp/err")"
fi
# --map for one, nothing for the other, and no header at all
sed 1d "$tmp/pets.csv" >"$tmp/bare.csv"
expect_error columns.map_for_one_only 1 "bare.csv: --map or the header gives the columns of some of the model's inputs" \
    "$tmp/pets" train "$tmp/bare.csv" --map x=1-2 --quiet --save "$tmp/no.safetensors"
if grep -qF "note: header: none (the first line is data)" "$tmp/err" && grep -qF "note: matched: x = columns 1,2 (--map)" "$tmp/err" &&
   grep -qF "note: left over: the model's kind (1 column); the file's column 3 (no name)" "$tmp/err"; then
    pass columns.map_for_one_only_explained
else
    fail columns.map_for_one_only_explained "$(tr '\n' '|' <"$tmp/err")"
fi

# ---- preprocessing: --center, --standardize=channel, and NAME_preprocess on the device ------------------
cat >"$tmp/img.dnn" <<'EOF2'
model img {
    input  image[3, 4, 4];
    target cls : class(2);
    logits = image |> flatten |> dense(2);
    output probs = softmax(logits);
    loss   cross_entropy(logits, cls);
    train { optimizer sgd(lr = 0.01); batch 8; epochs 3; seed 5; }
}
EOF2
build img "$tmp/img.dnn"
# 40 "pixels" images: channel c around 60c, spread 20(c + 1), a little brighter in class 1
awk 'BEGIN { srand(7); for (k = 1; k <= 48; k++) printf "p%d,", k; print "cls"
             for (i = 0; i < 40; i++) { y = rand() < 0.5; line = ""
                 for (c = 0; c < 3; c++) for (k = 0; k < 16; k++) line = line sprintf("%d,", int(c * 60 + (c + 1) * 20 * rand() + y * 10))
                 print line y } }' >"$tmp/img.csv"
PY=${PYTHON:-/usr/bin/python3}
have_torch=0
"$PY" -c 'import numpy, torch' 2>/dev/null && have_torch=1
# prep NAME OPTIONS...: trains img with OPTIONS into $tmp/NAME.safetensors and predicts the golden $tmp/NAME.golden.safetensors
prep() {
    name=$1; shift
    "$tmp/img" train "$tmp/img.csv" "$@" --quiet --save "$tmp/$name.safetensors" >"$tmp/out" 2>&1 &&
    "$tmp/img" predict "$tmp/img.csv" --weights "$tmp/$name.safetensors" --out "$tmp/$name.golden.safetensors" >>"$tmp/out" 2>&1
}
for case in "standardize channel --standardize=channel" "center channel --center=channel" \
            "standardize feature --standardize" "center feature --center"; do
    set -- $case
    kind=$1 per=$2; shift 2
    if ! prep "$kind-$per" --scale 1/255 "$@"; then
        fail "prep.$kind-$per" "$(head -2 "$tmp/out")"
    elif [ $have_torch = 0 ]; then
        skip "prep.$kind-$per" "no NumPy and PyTorch for $PY"
    elif "$PY" tests/program/check_prep.py "$tmp/$kind-$per.safetensors" "$tmp/$kind-$per.golden.safetensors" "$tmp/img.csv" \
            image 3,4,4 1/255 $per $kind >"$tmp/out" 2>&1; then
        pass "prep.$kind-$per ($(cat "$tmp/out"))"
    else
        fail "prep.$kind-$per" "$(tail -1 "$tmp/out")"
    fi
done
expect_error prep.bad_option 2 "--standardize takes =channel (per channel) or =feature (the default), not 'pixel'" \
    "$tmp/img" train "$tmp/img.csv" --standardize=pixel
expect_error prep.one_of_them 2 "--standardize and --center: give one of them" \
    "$tmp/img" train "$tmp/img.csv" --standardize --center=channel
# gradcheck applies the options' statistics too: its gradients change with --standardize
"$tmp/img" gradcheck "$tmp/img.csv" >"$tmp/g1" 2>&1
"$tmp/img" gradcheck "$tmp/img.csv" --standardize=channel >"$tmp/g2" 2>&1
if ! cmp -s "$tmp/g1" "$tmp/g2" && grep -q ": ok" "$tmp/g2"; then
    pass prep.gradcheck_standardizes
else
    fail prep.gradcheck_standardizes "the same gradients with and without --standardize=channel"
fi

# NAME_preprocess (--embed-weights): the same bits the training program's predict fed the model,
# for one input per channel or per element, several inputs (centred), and weights without preprocessing
cat >"$tmp/pre_img.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dnn_data.h"
#include "dnn_host.h"
#include "fw.h"
/* pre_img RAW.csv GOLDEN: img_preprocess of the CSV's rows against the golden file's inputs */
int main(int argc, char **argv) {
    dnn_csv t;
    char msg[512];
    void *buf;
    size_t len;
    dnn_st_view v;
    if (argc != 3 || dnn_csv_read(argv[1], &t, msg, sizeof msg) || dnn_read_file_alloc(argv[2], &buf, &len) ||
        dnn_st_find(buf, len, "image", &v) || v.nbytes != (size_t)t.rows * IMG_IMAGE_SIZE * 4)
        return 2;
    size_t count = (size_t)t.rows * IMG_IMAGE_SIZE;
    float *raw = calloc(count, 4), *x = calloc(count, 4);
    for (size_t i = 0; i < count; i++)
        raw[i] = t.data[i / IMG_IMAGE_SIZE * (size_t)t.cols + i % IMG_IMAGE_SIZE];
    img_preprocess(raw, x, t.rows);
    img_preprocess(raw, raw, t.rows); /* in place */
    int bad = memcmp(x, v.data, count * 4) != 0 || memcmp(raw, x, count * 4) != 0;
    printf("%d samples %s", t.rows, bad ? "differ" : "the same bits");
    return bad;
}
EOF2
for case in standardize-channel center-channel standardize-feature center-feature; do
    if build/dnnc --inference --embed-weights "$tmp/$case.safetensors" "$tmp/img.dnn" -o "$tmp/fw.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/fw.c" "$tmp/pre_img.c" \
           build/libdnnrt.a -lz -lm -o "$tmp/pre_img" 2>>"$tmp/err" &&
       "$tmp/pre_img" "$tmp/img.csv" "$tmp/$case.golden.safetensors" >"$tmp/out" 2>>"$tmp/err"; then
        pass "preprocess.$case ($(cat "$tmp/out"))"
    else
        fail "preprocess.$case" "$(cat "$tmp/out") $(head -3 "$tmp/err" | tr '\n' ' ')"
    fi
done
if grep -q "^#define IMG_IMAGE_MEAN {" "$tmp/fw.h" && grep -q "} /\* dnn.mean@image: one per element \*/$" "$tmp/fw.h" &&
   grep -q "image = (float)(raw_image \* IMG_IMAGE_SCALE) - IMG_IMAGE_MEAN\[i\]" "$tmp/fw.h" &&
   ! grep -q "IMG_IMAGE_STD" "$tmp/fw.h" && grep -q "^void img_preprocess(const float \*raw_image, float \*image, int n);" "$tmp/fw.h"; then
    pass preprocess.header
else
    fail preprocess.header "$(grep -i preprocess "$tmp/fw.h" | head -3)"
fi
# several inputs: one function, the raw inputs then the model's, as NAME_forward orders them
cat >"$tmp/two.dnn" <<'EOF2'
model two {
    input  a[2];
    input  b[3];
    target y[1];
    out = concat(a, b) |> dense(4) |> relu |> dense(1);
    output out;
    loss   mse(out, y);
    train { optimizer sgd(lr = 0.01); batch 4; epochs 2; seed 2; }
}
EOF2
build two "$tmp/two.dnn"
awk 'BEGIN { srand(3); print "a1,a2,b1,b2,b3,y"; for (i = 0; i < 10; i++) printf "%.2f,%.2f,%.1f,%.1f,%.1f,%.2f\n", rand(), 5 + rand(), 100 * rand(), -50 * rand(), rand(), rand() }' \
    >"$tmp/two.csv"
cat >"$tmp/pre_two.c" <<'EOF2'
#include <stdio.h>
#include <string.h>
#include "dnn_data.h"
#include "dnn_host.h"
#include "fw.h"
/* pre_two RAW.csv GOLDEN: two_preprocess of a's and b's columns against the golden file's a and b */
int main(int argc, char **argv) {
    dnn_csv t;
    char msg[512];
    void *buf;
    size_t len;
    dnn_st_view va, vb;
    static float raw_a[10][2], raw_b[10][3], a[10][2], b[10][3];
    if (argc != 3 || dnn_csv_read(argv[1], &t, msg, sizeof msg) || t.rows != 10 ||
        dnn_read_file_alloc(argv[2], &buf, &len) || dnn_st_find(buf, len, "a", &va) || dnn_st_find(buf, len, "b", &vb))
        return 2;
    for (int i = 0; i < 10; i++)
        for (int k = 0; k < 5; k++)
            *(k < 2 ? &raw_a[i][k] : &raw_b[i][k - 2]) = t.data[i * t.cols + k];
    two_preprocess(&raw_a[0][0], &raw_b[0][0], &a[0][0], &b[0][0], 10);
    int bad = memcmp(a, va.data, sizeof a) != 0 || memcmp(b, vb.data, sizeof b) != 0;
    printf("a and b: %s", bad ? "differ" : "the same bits");
    return bad;
}
EOF2
"$tmp/two" train "$tmp/two.csv" --center --quiet --save "$tmp/two.safetensors" >"$tmp/out" 2>&1
"$tmp/two" predict "$tmp/two.csv" --weights "$tmp/two.safetensors" --out "$tmp/two.golden.safetensors" >>"$tmp/out" 2>&1
if build/dnnc --inference --embed-weights "$tmp/two.safetensors" "$tmp/two.dnn" -o "$tmp/fw.c" 2>"$tmp/err" &&
   grep -q "^void two_preprocess(const float \*raw_a, const float \*raw_b, float \*a, float \*b, int n);" "$tmp/fw.h" &&
   ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/fw.c" "$tmp/pre_two.c" \
       build/libdnnrt.a -lz -lm -o "$tmp/pre_two" 2>>"$tmp/err" &&
   "$tmp/pre_two" "$tmp/two.csv" "$tmp/two.golden.safetensors" >"$tmp/out" 2>>"$tmp/err"; then
    pass "preprocess.two_inputs ($(cat "$tmp/out"))"
else
    fail preprocess.two_inputs "$(cat "$tmp/out") $(head -3 "$tmp/err" | tr '\n' ' ')"
fi
# weights without preprocessing: it copies (also in place), and says so
cat >"$tmp/pre_xor.c" <<'EOF2'
#include <string.h>
#include "fw.h"
int main(void) {
    float raw[8] = {0, 0, 0, 1, 1, 0, 1, 1}, x[8] = {0};
    xor_preprocess(raw, x, 4);
    xor_preprocess(x, x, 4);
    xor_preprocess(raw, x, 0);
    return memcmp(raw, x, sizeof x) != 0;
}
EOF2
if build/dnnc --inference --embed-weights tests/golden/data/xor.weights.safetensors models/xor.dnn -o "$tmp/fw.c" \
       2>"$tmp/err" && grep -q "The weights hold no preprocessing: it copies" "$tmp/fw.h" &&
   grep -q "^#define XOR_X_SCALE 1.0 /\* dnn.scale \*/" "$tmp/fw.h" &&
   ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/fw.c" "$tmp/pre_xor.c" \
       build/libdnnrt.a -lm -o "$tmp/pre_xor" 2>>"$tmp/err" && "$tmp/pre_xor"; then
    pass preprocess.none_copies
else
    fail preprocess.none_copies "$(head -3 "$tmp/err" | tr '\n' ' ')"
fi
# freestanding: the firmware compiler takes it warning-free
if ! command -v arm-none-eabi-gcc >/dev/null; then
    skip preprocess.cortex_m4 "arm-none-eabi-gcc is not installed"
elif build/dnnc --inference --embed-weights "$tmp/standardize-channel.safetensors" "$tmp/img.dnn" -o "$tmp/fw.c" &&
     arm-none-eabi-gcc -std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding -Wall \
         -Wextra -Wpedantic -Werror -Iruntime -c "$tmp/fw.c" -o "$tmp/fw.o" 2>"$tmp/err"; then
    pass preprocess.cortex_m4
else
    fail preprocess.cortex_m4 "$(head -2 "$tmp/err" | tr '\n' ' ')"
fi
# damaged statistics: dnnc and the program say which key and what it must hold
"$PY" - "$tmp/standardize-channel.safetensors" "$tmp/damaged.safetensors" <<'EOF2' 2>/dev/null
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header["__metadata__"]["dnn.std@image"] = "1,0,2"
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
EOF2
if [ ! -e "$tmp/damaged.safetensors" ]; then
    skip preprocess.damaged "no $PY"
else
    expect_error prep.damaged_metadata 1 "dnn.std@image is damaged: 3 values, which must be finite, positive and number 48 (one per element of 'image') or 3 (one per channel)" \
        "$tmp/img" eval "$tmp/img.csv" --weights "$tmp/damaged.safetensors"
    if ! build/dnnc --inference --embed-weights "$tmp/damaged.safetensors" "$tmp/img.dnn" -o "$tmp/d.c" 2>"$tmp/err" &&
       grep -q "damaged.safetensors: dnn.std@image is damaged: 3 values, which must be finite, positive" "$tmp/err"; then
        pass preprocess.damaged_metadata
    else
        fail preprocess.damaged_metadata "$(head -2 "$tmp/err")"
    fi
fi

# ---- the validation split: the same run as its two parts given as files ----------------------------------
# `validation 0.2` holds out samples by a seeded permutation (loop.c: shuffle_order
# with seed ^ 0x5eed5eed) and trains on the rest by index, with no copy; the same
# samples written as two files in the permutation's order (train DATA --val VAL)
# must give the same weights and log, bit for bit: each batch, the statistics of
# --standardize, epoch 0's loss and every validation see the same samples in the
# same order.
cat >"$tmp/split.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include "dnn.h"
int main(int argc, char **argv) { /* split COUNT SEED: the order train's split gives 0..COUNT-1 */
    long n = argc > 2 ? atol(argv[1]) : 0, *idx = calloc((size_t)n + 1, sizeof(long));
    dnn_rng r;
    dnn_rng_seed(&r, strtoull(argv[2], NULL, 10) ^ 0x5eed5eedULL);
    for (long i = 0; i < n; i++)
        idx[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)dnn_rng_below(&r, (uint32_t)(i + 1)), t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
    for (long i = 0; i < n; i++)
        printf("%ld\n", idx[i]);
    return 0;
}
EOF2
if ${CC:-cc} -std=c99 -O2 -Iruntime "$tmp/split.c" build/libdnnrt.a -lm -o "$tmp/split" 2>"$tmp/err"; then
    "$tmp/split" 150 7 | awk -v data=$iris -v dir="$tmp" '
        { order[NR] = $1 + 2 }     # the data line of sample $1 (line 1 is the header)
        END {
            while ((getline line < data) > 0) row[++n] = line
            print row[1] >(dir "/split_train.csv"); print row[1] >(dir "/split_val.csv")
            for (i = 1; i <= 150; i++) print row[order[i]] >(dir "/split_" (i <= 120 ? "train" : "val") ".csv")
        }'
    "$tmp/one" train $iris --epochs 3 --standardize --quiet --save "$tmp/split_a.safetensors" >"$tmp/out" 2>&1
    "$tmp/one" train "$tmp/split_train.csv" --val "$tmp/split_val.csv" --epochs 3 --standardize --quiet \
        --save "$tmp/split_b.safetensors" >>"$tmp/out" 2>&1
    if cmp -s "$tmp/split_a.safetensors" "$tmp/split_b.safetensors" &&
       [ "$(cut -d, -f1-6 "$tmp/split_a.log.csv")" = "$(cut -d, -f1-6 "$tmp/split_b.log.csv")" ]; then
        pass validation_split_as_files
    else
        fail validation_split_as_files "the split run and its parts as files differ: $(tail -n 1 "$tmp/split_a.log.csv") / $(tail -n 1 "$tmp/split_b.log.csv") $(head -2 "$tmp/out" | tr '\n' ' ')"
    fi
else
    fail validation_split_as_files "$(head -3 "$tmp/err" | tr '\n' ' ')"
fi

# ---- batchnorm on a batch of one: refused as PyTorch refuses it -----------------------------------------
# NAME_backward and NAME_train_step with n = 1 return (float)DNN_E_ARG and leave the model as it was when a
# batchnorm sees one value per channel ([C], or [C, 1, 1]); over [C, H, W] with H·W > 1 they train
cat >"$tmp/bn_main.c" <<'EOF2'
#include <stdio.h>
#include <string.h>
#include "bn.h"
static bn_model m, before;
int main(void) {
    float x[2 * BN_X_SIZE], y[2 * BN_Y_SIZE];
    for (int i = 0; i < 2 * BN_X_SIZE; i++)
        x[i] = (float)(i % 7) - 3;
    for (int i = 0; i < 2 * BN_Y_SIZE; i++)
        y[i] = (float)(i % 3);
    bn_init(&m, 1);
    memcpy(&before, &m, sizeof m);
    float one = bn_backward(&m, x, y, 1);
    int kept = !memcmp(&before, &m, sizeof m);
    float step = bn_train_step(&m, x, y, 1);
    kept &= !memcmp(&before, &m, sizeof m);
    float two = bn_train_step(&m, x, y, 2);
    printf("%s %s %s\n", one == (float)DNN_E_ARG && kept ? "refused" : one == one ? "trained" : "nan",
           step == (float)DNN_E_ARG ? "refused" : "trained", two == two && two != (float)DNN_E_ARG ? "ok" : "bad");
    return 0;
}
EOF2
for shape in "4" "2, 1, 1" "2, 2, 2"; do
    cat >"$tmp/bn.dnn" <<EOF2
model bn {
    input  x[$shape];
    target y[$shape];
    out = batchnorm(x);
    output out;
    loss   mse(out, y);
    train { optimizer sgd(lr = 0.1); batch 4; epochs 1; seed 1; }
}
EOF2
    if [ "$shape" = "2, 2, 2" ]; then want="trained trained ok"; else want="refused refused ok"; fi
    if [ $have_torch = 1 ]; then # what PyTorch does with one sample of this shape in training
        torch=$("$PY" -c "
import torch
bn = (torch.nn.BatchNorm1d if len(($shape,)) == 1 else torch.nn.BatchNorm2d)(($shape,)[0])
try:
    bn(torch.ones(1, $shape)); print('trained')
except ValueError:
    print('refused')" 2>&1)
        [ "${want%% *}" = "$torch" ] || fail "batchnorm.pytorch [$shape]" "PyTorch $torch, want ${want%% *}"
    fi
    if build/dnnc "$tmp/bn.dnn" -o "$tmp/bn.c" 2>"$tmp/err" &&
       ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -Iruntime -I"$tmp" "$tmp/bn.c" "$tmp/bn_main.c" \
           build/libdnnrt.a -lm -o "$tmp/bn" 2>>"$tmp/err" && [ "$("$tmp/bn")" = "$want" ]; then
        pass "batchnorm.one_sample [$shape] ($want)"
    else
        fail "batchnorm.one_sample [$shape]" "$("$tmp/bn" 2>&1) (want $want) $(head -2 "$tmp/err" | tr '\n' ' ')"
    fi
done
# the training program leaves a last batch of one out, with a warning, and trains on the rest
build ema tests/train/ema.dnn
"$tmp/ema" train $iris --limit 23 --epochs 2 --save "$tmp/ema.safetensors" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c warning "$tmp/err")" -eq 1 ] &&
   grep -q "warning: each epoch's last batch would hold 1 sample, on which batchnorm cannot train (PyTorch raises); it is left out, so an epoch trains on 16 of the 17 samples" "$tmp/err"; then
    pass batchnorm.program_drops_a_last_batch_of_one
else
    fail batchnorm.program_drops_a_last_batch_of_one "exit $rc: $(head -2 "$tmp/err" | tr '\n' ' ')"
fi
sed 's/batch          16;/batch 1;/' tests/train/ema.dnn >"$tmp/ema1.dnn"
build ema1 "$tmp/ema1.dnn"
expect_error batchnorm.program_batch_of_one 1 "the model's batchnorm needs at least 2 samples a batch to train (PyTorch raises on 1), and its batch is 1" \
    "$tmp/ema1" train $iris --save "$tmp/no.safetensors"
expect_error batchnorm.gradcheck_one_sample 1 "gradcheck needs at least 2 samples" "$tmp/ema" gradcheck $iris --limit 1

# ---- the same under AddressSanitizer and UBSan: the programs and dnnc ------------------------------------
S="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -D_POSIX_C_SOURCE=200809L"
if ! make -s build/asan/libdnnrt.a build/asan/dnnc >"$tmp/err" 2>&1 ||
   ! ${CC:-cc} -std=c99 -O1 $S -Iruntime "$tmp/pets.c" build/asan/libdnnrt.a -lz -lm -o "$tmp/pets_asan" 2>>"$tmp/err" ||
   ! ${CC:-cc} -std=c99 -O1 $S -Iruntime "$tmp/img.c" build/asan/libdnnrt.a -lz -lm -o "$tmp/img_asan" 2>>"$tmp/err"; then
    skip sanitizers "cannot build with -fsanitize: $(head -1 "$tmp/err")"
else
    bad=""
    a="$tmp/a.safetensors"
    while read -r prog args; do
        UBSAN_OPTIONS=halt_on_error=1 "$tmp/${prog}_asan" $args --save "$a" >/dev/null 2>"$tmp/err"
        rc=$?
        if { [ $rc -gt 3 ] && [ $rc -ne 130 ]; } || grep -q "Sanitizer\|runtime error" "$tmp/err"; then
            bad="$bad [$prog $args: exit $rc $(grep -m1 'ERROR\|runtime error' "$tmp/err")]"
        fi
    done <<EOF2
pets train $tmp/pets.csv --val $tmp/dogs.csv --quiet --epochs 2
pets eval $tmp/dogs.csv --weights $a
pets eval $tmp/horse.csv --weights $a
pets predict $tmp/dogs.csv --weights $a --class-names x,y,z
pets train $tmp/pets.csv --class-names dog,bird --quiet
pets eval $tmp/dogs.csv --weights $tmp/pnum.safetensors
pets train $tmp/ids.csv --quiet
pets train $tmp/bare.csv --map x=1-2 --quiet
pets train $tmp/kind_first.csv --quiet
pets train $tmp/xs.csv $tmp/kinds.csv --quiet --epochs 1
pets train $tmp/species.csv --quiet
pets eval $tmp/dogs.csv --weights /dev/null
pets eval $tmp/dogs.csv --weights $tmp/iris8.safetensors
img train $tmp/img.csv --scale 1/255 --standardize=channel --quiet --stop-after 3
img train $tmp/img.csv --quiet --resume $tmp/a.ckpt
img eval $tmp/img.csv --weights $a
img eval $tmp/img.csv --weights $tmp/damaged.safetensors
img gradcheck $tmp/img.csv --center=channel
EOF2
    for w in "$tmp/standardize-channel.safetensors" "$tmp/center-feature.safetensors" "$tmp/damaged.safetensors" \
             "$tmp/iris8.safetensors"; do
        UBSAN_OPTIONS=halt_on_error=1 build/asan/dnnc --inference --embed-weights "$w" "$tmp/img.dnn" -o "$tmp/s.c" \
            >/dev/null 2>"$tmp/err"
        rc=$?
        if [ $rc -gt 1 ] || grep -q "Sanitizer\|runtime error" "$tmp/err"; then
            bad="$bad [dnnc --embed-weights $w: exit $rc $(grep -m1 'ERROR\|runtime error' "$tmp/err")]"
        fi
    done
    if [ -z "$bad" ]; then pass sanitizers; else fail sanitizers "$bad"; fi
fi
