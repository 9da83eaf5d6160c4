#!/bin/sh
# The training program's calibrate command: DATA -> -o CAL.safetensors, the
# inputs as NAME_forward gets them (after --scale, or the preprocessing the
# weights file holds), [N, per-sample shape...] under the input's name — the
# calibration set of dnnc --quantize=int8 --calibrate. Then its errors:
# what train and predict say for the same mistakes, and no file written.
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fashion=/usr/share/datasets/fashion-mnist
iris=$root/examples/iris/iris.csv

pass() { echo "PASS program/calibrate.$1"; }
fail() { echo "FAIL program/calibrate.$1: $2"; }
skip() { echo "SKIP program/calibrate.$1: $2"; }

# build NAME MODEL: the training program $tmp/NAME
build() {
    "$root/build/dnnc" --main "$2" -o "$tmp/$1.c" 2>"$tmp/err" &&
        ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -I"$root/runtime" "$tmp/$1.c" \
            "$root/build/libdnnrt.a" -lz -lm -o "$tmp/$1" 2>"$tmp/err"
}

# same_values CAL NAME SHAPE EXPECTED: CAL holds one F32 tensor NAME of shape
# SHAPE ("150,4") whose values are, as float32, those of the Python
# expression EXPECTED (a list, in row-major order).
same_values() {
    python3 - "$@" <<'EOF'
import json, struct, sys
path, name, shape, expr = sys.argv[1:]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header.pop("__metadata__", None)
if list(header) != [name]:
    sys.exit("tensors %s, want only %s" % (list(header), name))
h = header[name]
want_shape = [int(d) for d in shape.split(",")]
if h["dtype"] != "F32" or h["shape"] != want_shape:
    sys.exit("%s is %s %s, want F32 %s" % (name, h["dtype"], h["shape"], want_shape))
b, e = h["data_offsets"]
got = struct.unpack("<%df" % ((e - b) // 4), raw[8 + n + b:8 + n + e])
want = [struct.unpack("<f", struct.pack("<f", v))[0] for v in eval(expr)]
bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
if len(got) != len(want) or bad:
    i = bad[0] if bad else 0
    sys.exit("%d values, want %d; value %d is %r, want %r" % (len(got), len(want), i, got[i], want[i]))
EOF
}

# expect NAME STATUS "MESSAGE" ARGS...: the command exits STATUS with MESSAGE on
# stderr and leaves no cal.safetensors behind
expect() {
    name=$1 want=$2 msg=$3; shift 3
    rm -f cal.safetensors
    "$@" >out 2>err
    rc=$?
    if [ $rc -eq "$want" ] && grep -qF -- "$msg" err && [ ! -e cal.safetensors ]; then
        pass "$name"
    else
        fail "$name" "exit $rc (want $want), '$(head -1 err)' (want '$msg'); $(ls cal.safetensors 2>/dev/null)"
    fi
}

if ! build iris "$root/models/iris.dnn"; then
    fail build "$(head -3 "$tmp/err")"
    exit 0
fi
cd "$tmp" || exit 2

# CSV: the input's columns by header name (the label column is not an input), times --scale
./iris calibrate "$iris" --scale 1/2 -o cal.safetensors >out 2>err
rc=$?
if [ $rc -eq 0 ] && grep -q "^iris: 150 samples of features written to cal.safetensors" out &&
   why=$(same_values cal.safetensors features 150,4 \
       "[float(v) * 0.5 for line in open('$iris').read().split()[1:] for v in line.split(',')[:4]]" 2>&1); then
    pass csv_scale
else
    fail csv_scale "exit $rc: $(head -1 err) $why"
fi
# --weights: the preprocessing saved by train (--standardize) is applied, as predict applies it
./iris train "$iris" --standardize --epochs 1 -q --save w.safetensors >/dev/null 2>&1
./iris calibrate "$iris" --weights w.safetensors --limit 20 -o cal.safetensors >/dev/null 2>err
./iris predict "$iris" --weights w.safetensors --limit 20 --out golden.safetensors >/dev/null 2>&1
if why=$(python3 - <<'EOF' 2>&1
import json, struct
def tensor(path, name):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    b, e = json.loads(raw[8:8 + n])[name]["data_offsets"]
    return raw[8 + n + b:8 + n + e]
cal, golden = tensor("cal.safetensors", "features"), tensor("golden.safetensors", "features")
raw = struct.unpack("<4f", cal[:16])
assert cal == golden and len(cal) == 20 * 4 * 4, "calibrate's inputs are not predict's"
assert abs(raw[0] - 5.1) > 0.5, "the inputs were not standardised: %r" % (raw,)
EOF
); then
    pass weights_prep
else
    fail weights_prep "$(head -1 err) $why"
fi
# IDX images: [N, 1, 28, 28], each byte times 1/255 (the product in double, then float)
if [ -e $fashion/train-images-idx3-ubyte.gz ] && build mlp "$root/models/mlp.dnn"; then
    ./mlp calibrate $fashion/train-images-idx3-ubyte.gz --scale 1/255 --limit 7 -o cal.safetensors >out 2>err
    rc=$?
    if [ $rc -eq 0 ] && why=$(same_values cal.safetensors image 7,1,28,28 \
           "[b * (1 / 255) for b in __import__('gzip').open('$fashion/train-images-idx3-ubyte.gz').read()[16:16 + 7 * 784]]" 2>&1); then
        pass idx_scale_limit
    else
        fail idx_scale_limit "exit $rc: $(head -1 err) $why"
    fi
else
    skip idx_scale_limit "dataset-fashion-mnist is not installed"
fi

# the command is listed; its mistakes are said plainly and write nothing
if ./iris --help | grep -q "^  calibrate DATA\.\.\." && ./iris 2>&1 | grep -q "augment, calibrate"; then
    pass help
else
    fail help "$(./iris --help | grep calibrate)"
fi
expect no_out 2 "calibrate writes safetensors: give -o FILE.safetensors" ./iris calibrate "$iris"
expect out_csv 2 "give -o FILE.safetensors (not 'cal.csv')" ./iris calibrate "$iris" -o cal.csv
expect missing_data 1 "missing.csv" ./iris calibrate missing.csv -o cal.safetensors
printf 'a,b,c\n1,2,3\n' >three.csv
expect wrong_columns 1 "three.csv" ./iris calibrate three.csv -o cal.safetensors
expect missing_weights 1 "nope.safetensors" ./iris calibrate "$iris" --weights nope.safetensors -o cal.safetensors
expect bad_scale 2 "--scale takes a positive number, not '0'" ./iris calibrate "$iris" --scale 0 -o cal.safetensors
mkdir dir.safetensors
expect out_directory 3 "cannot write 'dir.safetensors': Is a directory" \
    ./iris calibrate "$iris" -o dir.safetensors
# a symbolic link is written through (its target replaced), as predict --out does
ln -s target.safetensors link.safetensors
./iris calibrate "$iris" --limit 2 -o link.safetensors >/dev/null 2>err
if [ -L link.safetensors ] && [ -s target.safetensors ] &&
   same_values target.safetensors features 2,4 "[5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2]" 2>/dev/null; then
    pass out_symlink
else
    fail out_symlink "$(head -1 err); $(ls -l link.safetensors target.safetensors 2>&1 | tr '\n' ' ')"
fi
# a device is written in place, as predict --out writes one
./iris calibrate "$iris" --limit 2 -o /dev/null >out 2>err
rc=$?
if [ $rc -eq 0 ] && [ ! -s err ] && [ -c /dev/null ] && grep -q "written to /dev/null" out; then
    pass out_device
else
    fail out_device "exit $rc: $(head -1 err); $(ls -l /dev/null)"
fi
