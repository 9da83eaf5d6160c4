#!/bin/sh
# tests/firmware/icount_dnnc.sh — instructions per inference of dnnc's
# firmware for a Cortex-M4, counted exactly under QEMU.
#
#   sh tests/firmware/icount_dnnc.sh [MODEL [GOAL]]     (MODEL: lenet5; GOAL: size|speed)
#   WEIGHTS=W.safetensors GOLDEN=G.safetensors sh tests/firmware/icount_dnnc.sh FILE.dnn [GOAL]
#
# MODEL lenet5 or mlp is built as examples/firmware/build.sh does (that
# script trains it briefly and records the host's outputs as a golden
# file); a FILE.dnn (one input, one output) takes its weights and golden
# file from WEIGHTS and GOLDEN. Then dnnc --inference --embed-weights
# --optimize=GOAL --emit=selftest, the same compiler and flags as build.sh,
# linked with icount_main.c and icount_dnnc.c instead of main.c, and
# tests/firmware/icount.sh counts one forward pass (on the first golden
# sample) and checks the outputs with the generated selftest (within 1e-5,
# or RTOL=R relative). Prints the footprint of the model's object
# (tests/firmware/footprint.sh, without the self-test), sizeof(NAME_model),
# the instructions per inference and the stack used. Output in
# build/icount/NAME-GOAL/. QUANT=int8 (lenet5, mlp): the int8 build of
# examples/firmware/build.sh's QUANT=int8 (its calibration set and the
# host's int8 outputs), checked exactly up to the float softmax (1e-6).
set -e
cd "$(dirname "$0")/../.."
source=${1:-lenet5}
goal=${2:-size}
case "$goal" in size|speed) ;; *) echo "icount_dnnc: GOAL is size or speed, not '$goal'" >&2; exit 2 ;; esac
case "$source" in
    lenet5|mlp) model=$source; dnn=models/$model.dnn ;;
    *.dnn|*.dnn.draft)
        dnn=$source
        model=$(sed -n 's/^ *model  *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$dnn" 2>/dev/null | head -1)
        if [ -z "$model" ] || [ ! -f "$WEIGHTS" ] || [ ! -f "$GOLDEN" ]; then
            echo "icount_dnnc: $dnn needs a model in it, WEIGHTS=FILE.safetensors and GOLDEN=FILE.safetensors" >&2
            exit 2
        fi ;;
    *) echo "icount_dnnc: MODEL is lenet5, mlp or a FILE.dnn, not '$source'" >&2; exit 2 ;;
esac
upper=$(echo "$model" | tr a-z A-Z)
out=build/icount/$model-$goal
mkdir -p $out
if [ "$dnn" = models/$model.dnn ] && [ -z "$WEIGHTS" ]; then   # lenet5, mlp: build.sh trains it
    QUANT=$QUANT MODEL=$model sh examples/firmware/build.sh >$out/firmware.log 2>&1 ||
        { tail -5 $out/firmware.log >&2; exit 1; }
    cp build/firmware/$model.safetensors $out/$model.safetensors
    cp build/firmware/golden.safetensors $out/golden.safetensors
    [ "$QUANT" = int8 ] && cp build/firmware/$model.cal.safetensors $out/cal.safetensors
else
    cp "$WEIGHTS" $out/$model.safetensors
    cp "$GOLDEN" $out/golden.safetensors
fi

quant= tol=-D${upper}_SELFTEST_RTOL=${RTOL:-0}
if [ "$QUANT" = int8 ] && [ -f $out/cal.safetensors ]; then
    quant="--quantize=int8 --calibrate $out/cal.safetensors"
    tol="-D${upper}_SELFTEST_ATOL=0 -D${upper}_SELFTEST_RTOL=1e-6f"
elif [ -n "$QUANT" ]; then
    echo "icount_dnnc: QUANT=int8 goes with lenet5 or mlp" >&2
    exit 2
fi
# shellcheck disable=SC2086 # $quant is options
build/dnnc --inference --embed-weights $out/$model.safetensors --optimize=$goal $quant --emit=selftest \
    --golden $out/golden.safetensors "$dnn" -o $out/$model.c
flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffunction-sections -fdata-sections"
make -s core CC=arm-none-eabi-gcc CFLAGS="$flags -Werror" BUILD=$out/arm   # the runtime's core alone
arm="arm-none-eabi-gcc -std=c99 $flags -Wall -Wextra -Werror -Iruntime -I$out -Iexamples/firmware"
for src in $out/$model.c tests/firmware/icount_main.c tests/firmware/icount_dnnc.c \
           examples/firmware/startup.c examples/firmware/semihost.c; do
    # shellcheck disable=SC2086 # $tol is options
    $arm -DMODEL=$model -DMODEL_UC=$upper $tol -c "$src" -o "$out/$(basename "$src" .c).o"
done
$arm -nostartfiles -T examples/firmware/mps2-an386.ld -Wl,--gc-sections --specs=nano.specs \
    $out/$model.o $out/icount_main.o $out/icount_dnnc.o $out/startup.o $out/semihost.o \
    -L$out/arm -ldnnrt_core -lm -o $out/$model.elf
# the model's own object without the self-test (its code, buffer and samples), then the model struct
footprint=$(sh tests/firmware/footprint.sh $out/$model.o 'selftest|got0')
ram=$(arm-none-eabi-size -A $out/icount_dnnc.o | awk '$1 == ".bss.model" { print $2 }')
count=$(sh tests/firmware/icount.sh $out/$model.elf)
echo "$model --optimize=$goal: dnnc, $footprint, sizeof(${model}_model) $ram B; ${count#*: }"
