#!/bin/sh
# examples/firmware/build.sh — LeNet-5 (or MODEL=mlp, or one of the MLPerf
# Tiny networks MODEL=ds_cnn, resnet8, mobilenet_v1_025, fc_autoencoder) on a
# Cortex-M4 under QEMU.
#
#  1. weights: the model trained briefly by its training program (dnnc --main;
#     LeNet-5 and the MLP: 2,000 Fashion-MNIST images, one epoch; the MLPerf
#     networks: one step on 8 random samples of tests/random_data.sh at
#     learning rate 0.01, so that the weights and batchnorm's statistics and
#     affine parameters are no longer their initial values), or
#     WEIGHTS=FILE.safetensors;
#  2. the host's outputs for the first IMAGES (4) test images (MLPerf: 2 of
#     the random samples), recorded as a golden file by the program's
#     `predict --out golden.safetensors`;
#  3. dnnc --inference --embed-weights --emit=selftest: forward-only C with
#     the weights as const arrays (flash) and the golden samples baked in;
#  4. arm-none-eabi-gcc -Os for the Cortex-M4 (hard float) with startup.c,
#     semihost.c, print.c and main.c, linked with the runtime's core alone
#     (libdnnrt_core.a, `make core` for the Cortex-M4); arm-none-eabi-size
#     shows where the bytes go;
#  5. qemu-system-arm -M mps2-an386 runs it: the classes and outputs are
#     printed and compared on the target with the host's (within 1e-5).
# QUANT=int8 builds the int8 model instead (dnnc --quantize=int8, docs/firmware.md):
# the program's `calibrate` writes the calibration set (1,000 training images;
# MLPerf: the 8 random samples), the same int8 C built for the host gives the
# golden outputs (record.c), and the firmware must reproduce them: the int8
# part bit for bit, the float softmax after it within 1e-6 (expf differs).
# QUANT=qat (LeNet-5 only) trains examples/qat/lenet5_qat.dnn (`quantize int8;`)
# instead and builds the int8 model from the scales it learnt (dnnc --from-qat).
# Exit status 0 when the firmware ran and matched. Output in build/firmware/,
# and the report (dnnc --emit=report) in build/firmware/MODEL.report.
set -e
cd "$(dirname "$0")/../.."
out=build/firmware
data=/usr/share/datasets/fashion-mnist
model=${MODEL:-lenet5}
upper=$(echo "$model" | tr a-z A-Z)
mkdir -p $out

dnn=models/$model.dnn
[ "$QUANT" != qat ] || dnn=examples/qat/${model}_qat.dnn
prog=$(sh examples/program.sh $dnn $out/host)
weights=${WEIGHTS:-$out/$model.safetensors}
case $model in
    lenet5|mlp)
        images=${IMAGES:-4}
        if [ -z "$WEIGHTS" ]; then
            $prog train $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 \
                --limit 2000 --epochs 1 --quiet --save "$weights" >/dev/null
        fi
        calibration="$data/train-images-idx3-ubyte.gz --scale 1/255 --limit 1000"
        set -- $data/t10k-images-idx3-ubyte.gz ;;
    *)  # no data set on Debian for these: random samples, the same on every run
        images=${IMAGES:-2}
        . tests/random_data.sh
        data $prog $out/$model.random.csv "$model" 8
        if [ -z "$WEIGHTS" ]; then
            $prog train $out/$model.random.csv --epochs 1 --lr 0.01 --quiet --save "$weights" >/dev/null
        fi
        calibration=$out/$model.random.csv
        set -- $out/$model.random.csv ;;
esac
$prog predict "$@" --limit "$images" --weights "$weights" --out $out/golden.safetensors
# the input and output the firmware's main.c prints
io=$(sed -n 's/^ *input *\([A-Za-z0-9_]*\).*/\1/p; s/^ *output *\([A-Za-z0-9_]*\).*/\1/p' $dnn)
io=$(echo $io) # one line: "input output"
set -- $(echo $io | tr a-z A-Z)

quant= int8=0 tol=-D${upper}_SELFTEST_RTOL=0 embed="--embed-weights $weights" # float: within 1e-5
if [ "$QUANT" = int8 ] || [ "$QUANT" = qat ]; then
    if [ "$QUANT" = qat ]; then # the weights hold the scales: no calibration
        quant="--quantize=int8 --from-qat $weights" embed= int8=1
    else
        # shellcheck disable=SC2086 # $calibration is a file and the program's options
        $prog calibrate $calibration -o $out/$model.cal.safetensors
        quant="--quantize=int8 --calibrate $out/$model.cal.safetensors" int8=1
    fi
    # the int8 part equals the host's bit for bit; the float softmax after it uses each
    # C library's expf (newlib's and glibc's differ in the last bit or two)
    tol="-D${upper}_SELFTEST_ATOL=0 -D${upper}_SELFTEST_RTOL=1e-6f"
    # the host's int8 outputs, which the firmware must equal bit for bit
    # shellcheck disable=SC2086
    mkdir -p $out/host8
    build/dnnc --inference $embed $quant $dnn -o $out/host8/$model.c
    cc -std=c99 -O2 -Wall -Wextra -Werror -Iruntime -I$out/host8 -DMODEL=$model -DMODEL_UC=$upper -DINPUT_UC=$1 \
        -DOUTPUT_UC=$2 -DINPUT=${io%% *} -DOUTPUT=${io##* } examples/firmware/record.c $out/host8/$model.c \
        build/libdnnrt.a -lm -o $out/record
    $out/record $out/golden.safetensors $out/golden.int8.safetensors
    mv $out/golden.int8.safetensors $out/golden.safetensors
elif [ -n "$QUANT" ]; then
    echo "build.sh: QUANT=$QUANT: only int8 and qat are known" >&2
    exit 2
fi
# shellcheck disable=SC2086
build/dnnc --inference $embed $quant --emit=selftest --golden $out/golden.safetensors $dnn -o $out/$model.c
# shellcheck disable=SC2086
build/dnnc --inference $embed $quant --emit=report $dnn >$out/$model.report

flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffunction-sections -fdata-sections"
# the runtime's freestanding core, the one library firmware links: $out/arm/libdnnrt_core.a
make -s core CC=arm-none-eabi-gcc CFLAGS="$flags -Werror" BUILD=$out/arm
arm="arm-none-eabi-gcc -std=c99 $flags -Wall -Wextra -Werror -Iruntime -I$out -Iexamples/firmware"
for src in $out/$model.c examples/firmware/main.c examples/firmware/print.c examples/firmware/startup.c examples/firmware/semihost.c; do
    $arm -DMODEL=$model -DMODEL_UC=$upper -DINPUT_UC=$1 -DOUTPUT_UC=$2 $tol -DINT8=$int8 \
        -c "$src" -o "$out/$(basename "$src" .c).o"
done
$arm -nostartfiles -T examples/firmware/mps2-an386.ld -Wl,--gc-sections --specs=nano.specs \
    $out/$model.o $out/main.o $out/print.o $out/startup.o $out/semihost.o -L$out/arm -ldnnrt_core -lm -o $out/$model.elf
echo "== arm-none-eabi-size (the whole firmware; .text holds code and const weights)"
arm-none-eabi-size $out/$model.elf
echo "== the model's object, by section"
arm-none-eabi-size -A $out/$model.o | awk '$2 > 0 && $1 ~ /^\./ { print }'

echo "== qemu-system-arm -M mps2-an386"
timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel $out/$model.elf
