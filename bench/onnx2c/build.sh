#!/bin/sh
# bench/onnx2c/build.sh — onnx2c's code for the same networks, built for the
# Cortex-M4 exactly as dnnc's firmware is, measured the same way.
#
#   ONNX2C=/path/to/onnx2c sh bench/onnx2c/build.sh [NAME...]
#
# NAME: lenet5 mlp (models/*.dnn, with the weights and the first test
# image of examples/firmware/build.sh, which this runs first) and ds_cnn
# vww resnet8 autoencoder (bench/mlperf/twins.py, seeded weights); all by
# default. onnx2c itself is not built here: build it from its repository at
# commit ea045cc as its README says (`sh scripts/deps.sh onnx2c` installs
# the Debian packages that needs) and give its path as ONNX2C (default
# build/onnx2c/onnx2c). For each NAME, in build/onnx2c/NAME/:
#
#  1. export.py: the twin as NAME.onnx (opset 13, batch 1, eval mode) and
#     NAME_io.h (an input and PyTorch's output for it); for the MLPerf
#     networks also NAME.safetensors and NAME.golden.safetensors, with which
#     tests/firmware/icount_dnnc.sh builds dnnc's firmware of the same network;
#  2. onnx2c NAME.onnx > NAME.c (its log in NAME.onnx2c.log);
#  3. arm-none-eabi-gcc with examples/firmware/build.sh's flags (-std=c99
#     -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
#     -ffunction-sections -fdata-sections; warnings not fatal: not our
#     code), linked with tests/firmware/icount_main.c, icount_onnx2c.c,
#     examples/firmware/startup.c and semihost.c, mps2-an386.ld,
#     --gc-sections, nano specs;
#  4. the footprint of NAME.o (code, constants, RAM: tests/firmware/footprint.sh;
#     arm-none-eabi-size of it and of the ELF in sizes.txt) and
#     tests/firmware/icount.sh: instructions per inference under QEMU, the
#     stack used, and the output checked against PyTorch's.
# With LOGITS=1 the classifiers are exported without their softmax, into
# build/onnx2c/NAME-logits/ (the previous team's onnx2c figures were so).
# One line per NAME goes to build/onnx2c/results.txt (results-logits.txt). Exit status 1 if any
# NAME failed (an onnx2c failure is reported and the others still run).
cd "$(dirname "$0")/../.." || exit 2
onnx2c=${ONNX2C:-build/onnx2c/onnx2c}
names=${*:-lenet5 mlp ds_cnn vww resnet8 autoencoder}
if [ ! -x "$onnx2c" ]; then
    echo "onnx2c: no onnx2c at '$onnx2c': build kraiskil/onnx2c at ea045cc and give its path as ONNX2C=" >&2
    exit 2
fi
for tool in arm-none-eabi-gcc qemu-system-arm; do
    command -v $tool >/dev/null || { echo "onnx2c: $tool is not installed (sh scripts/deps.sh check)" >&2; exit 2; }
done
mkdir -p build/onnx2c
results=build/onnx2c/results${LOGITS:+-logits}.txt
: >$results
failed=0
arm="arm-none-eabi-gcc -std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
     -ffunction-sections -fdata-sections -Iexamples/firmware"

fail() { # fail NAME WHAT
    echo "$1: FAILED: $2" | tee -a $results
    failed=1
}

for name in $names; do
    out=build/onnx2c/$name${LOGITS:+-logits}
    mkdir -p $out
    case $name in
        lenet5|mlp)
            if ! MODEL=$name sh examples/firmware/build.sh >$out/dnnc-firmware.log 2>&1; then
                fail $name "examples/firmware/build.sh (see $out/dnnc-firmware.log)"; continue
            fi
            cp build/firmware/$name.safetensors build/firmware/golden.safetensors $out/
            set -- --weights $out/$name.safetensors --golden $out/golden.safetensors ;;
        *) set -- --dnnc ;;   # also the weights and golden file for tests/firmware/icount_dnnc.sh
    esac
    if ! /usr/bin/python3 bench/onnx2c/export.py $name $out "$@" ${LOGITS:+--logits} >$out/export.log 2>&1; then
        fail $name "export.py: $(tail -1 $out/export.log)"; continue
    fi
    if ! "$onnx2c" $out/$name.onnx >$out/$name.c 2>$out/$name.onnx2c.log || ! grep -q '^void entry(' $out/$name.c; then
        fail $name "onnx2c cannot compile it: $(grep -v '^$' $out/$name.onnx2c.log | tail -1)"; continue
    fi
    grep '^void entry(' $out/$name.c | sed 's/) *{ *$/);/' >$out/entry.h
    ok=1
    for src in $out/$name.c tests/firmware/icount_main.c bench/onnx2c/icount_onnx2c.c \
               examples/firmware/startup.c examples/firmware/semihost.c; do
        $arm -I$out -DIO_HEADER="\"${name}_io.h\"" -c "$src" -o "$out/$(basename "$src" .c).o" \
            2>>$out/compile.log || { ok=0; break; }
    done
    if [ $ok = 0 ] || ! $arm -nostartfiles -T examples/firmware/mps2-an386.ld -Wl,--gc-sections \
            --specs=nano.specs $out/$name.o $out/icount_main.o $out/icount_onnx2c.o $out/startup.o \
            $out/semihost.o -lm -o $out/$name.elf 2>>$out/compile.log; then
        fail $name "arm-none-eabi-gcc: $(grep -m1 error $out/compile.log)"; continue
    fi
    footprint=$(sh tests/firmware/footprint.sh $out/$name.o)
    { arm-none-eabi-size $out/$name.elf; arm-none-eabi-size -A $out/$name.o; } >$out/sizes.txt
    if ! count=$(sh tests/firmware/icount.sh $out/$name.elf 2>&1); then
        fail $name "$count"; continue
    fi
    echo "$name${LOGITS:+ (logits)}: onnx2c ea045cc, $footprint; ${count#*: }" | tee -a $results
done
exit $failed
