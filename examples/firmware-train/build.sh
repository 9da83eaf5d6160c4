#!/bin/sh
# examples/firmware-train/build.sh — LeNet-5 fine-tuned on a Cortex-M (under
# QEMU) for a shifted domain: Fashion-MNIST images upside down.
#
#  1. weights: LeNet-5 (models/lenet5.dnn) trained on the host on PRETRAIN
#     (20,000) upright training images, 2 epochs, by its generated training
#     program (dnnc --main, --scale 1/255); kept in build/firmware-train/
#     and reused while the command is the same;
#  2. data for the flash (idx2c.c): TUNE (400) upside-down training images
#     the host never saw, for fine-tuning, and 1,000 upside-down test
#     images held out, as IDX bytes;
#  3. for each configuration, lenet5_dense.dnn (a: the last two dense
#     layers trained) and lenet5_bias.dnn (b: the biases and the last
#     layer): dnnc --embed-weights W (training code, frozen tensors in
#     flash) and its --emit=report;
#  4. the same C and main.c built for the host (-DHOST, mathf.c's expf and
#     logf) and run: its final trainable tensors (NAME_save) become
#     host_state[] for the firmware;
#  5. the firmware: arm-none-eabi-gcc -Os -ffp-contract=off for CORE (m4 by
#     default: Cortex-M4 on mps2-an386; m3, m7, m33, m55; cores.sh), with
#     mathf.c and examples/firmware's print.c, startup.c and semihost.c,
#     linked with the runtime core alone; run under qemu-system-arm. It
#     prints the accuracy before and after, the loss as it goes, and how
#     far its final weights are from the host's (README.md).
# CONFIGS="dense bias" (the default) picks the configurations, EPOCHS (2)
# and TUNE the fine-tuning; MATHF=0 leaves mathf.c out of both builds
# (glibc's expf and logf on the host, newlib's on the device) to show why
# it is there. Exit status 0 when every firmware ran and matched the host.
# Output in build/firmware-train/ (CORE/ for the target's objects), each
# run's text in CORE/NAME.out.
set -e
cd "$(dirname "$0")/../.."
here=examples/firmware-train
out=build/firmware-train
data=/usr/share/datasets/fashion-mnist
core=${CORE:-m4}
configs=${CONFIGS:-dense bias}
pretrain=${PRETRAIN:-20000}
tune=${TUNE:-400}
epochs=${EPOCHS:-2}
mathf=$here/mathf.c
[ "${MATHF:-1}" = 1 ] || mathf=
. $here/cores.sh
if ! core_settings $core; then
    echo "build.sh: error: CORE is one of $cores, not '$core'" >&2
    exit 2
fi
for need in $data/train-images-idx3-ubyte.gz:dataset-fashion-mnist arm-none-eabi-gcc:gcc-arm-none-eabi \
            /usr/lib/arm-none-eabi/newlib/libc.a:libnewlib-arm-none-eabi qemu-system-arm:qemu-system-arm; do
    if [ ! -e "${need%%:*}" ] && ! command -v "${need%%:*}" >/dev/null; then
        echo "build.sh: error: ${need%%:*} is missing: install the Debian package ${need#*:} (make check does, as root)" >&2
        exit 2
    fi
done
mkdir -p $out/$core

# 1. pre-training on the host, upright images
weights=$out/lenet5.safetensors
prog=$(sh examples/program.sh models/lenet5.dnn $out/host)
train="$prog train $data/train-images-idx3-ubyte.gz $data/train-labels-idx1-ubyte.gz --scale 1/255 --limit $pretrain --epochs 2 --quiet --save $weights"
if [ ! -e $weights ] || [ "$(cat $out/lenet5.command 2>/dev/null)" != "$train" ]; then
    echo "== pre-training on the host: $pretrain upright images, 2 epochs"
    $train >/dev/null
    echo "$train" >$out/lenet5.command
    $prog eval $data/t10k-images-idx3-ubyte.gz $data/t10k-labels-idx1-ubyte.gz --weights $weights --scale 1/255 --limit 1000 |
        tail -n 1 >$out/lenet5.upright
fi
echo "== host's model on 1,000 upright test images: $(cat $out/lenet5.upright)"

# 2. the data in flash: upside-down images the pre-training never saw
cc -std=c99 -O2 -Wall -Wextra -Werror $here/idx2c.c -o $out/idx2c
first=$((pretrain + 10000))
{
    gzip -dc $data/train-images-idx3-ubyte.gz | $out/idx2c tune_images $first $tune flip
    gzip -dc $data/train-labels-idx1-ubyte.gz | $out/idx2c tune_labels $first $tune
    gzip -dc $data/t10k-images-idx3-ubyte.gz | $out/idx2c test_images 0 1000 flip
    gzip -dc $data/t10k-labels-idx1-ubyte.gz | $out/idx2c test_labels 0 1000
} >$out/data.c.new
if cmp -s $out/data.c.new $out/data.c; then rm $out/data.c.new; else mv $out/data.c.new $out/data.c; fi

flags="$cpu -mthumb -Os -ffp-contract=off -ffunction-sections -fdata-sections"
make -s core CC=arm-none-eabi-gcc CFLAGS="$flags -Werror" BUILD=$out/$core
arm="arm-none-eabi-gcc -std=c99 $flags -Wall -Wextra -Werror -Iruntime -I$out -Iexamples/firmware"
[ $out/$core/data.o -nt $out/data.c ] || $arm -c $out/data.c -o $out/$core/data.o
objects=
for src in $mathf examples/firmware/print.c examples/firmware/startup.c examples/firmware/semihost.c; do
    $arm -c $src -o $out/$core/$(basename $src .c).o
    objects="$objects $out/$core/$(basename $src .c).o"
done

status=0
for config in $configs; do
    model=lenet5_$config
    upper=$(echo $model | tr a-z A-Z)
    # 3. training code for the device, its report
    build/dnnc --embed-weights $weights $here/$model.dnn -o $out/$model.c
    build/dnnc --embed-weights $weights --emit=report $here/$model.dnn >$out/$model.report
    defs="-DMODEL=$model -DMODEL_UC=$upper -DEPOCHS=$epochs"

    # 4. the host: the same C and steps, its final state the firmware's reference
    cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror -Iruntime -I$out $defs -DHOST -DCORE='"the host"' \
        -Iexamples/firmware $here/main.c examples/firmware/print.c $out/$model.c $out/data.c $mathf build/libdnnrt_core.a \
        -lm -o $out/$model.host
    echo "== the host (x86-64, cc -O2 -ffp-contract=off)"
    $out/$model.host $out/$model.host.safetensors >$out/$model.host.out
    cat $out/$model.host.out
    {
        echo "/* $model's final trainable tensors on the host (NAME_save), the firmware's reference */"
        echo "const unsigned long host_state_len = $(wc -c <$out/$model.host.safetensors);"
        echo "const unsigned char host_state[] = {"
        od -An -v -tu1 $out/$model.host.safetensors | sed 's/^ *//; s/  */,/g; s/$/,/'
        echo "};"
    } >$out/$model.host_state.c

    # 5. the firmware, and its run
    for src in $out/$model.c $here/main.c $out/$model.host_state.c; do
        $arm $defs -DCORE="\"a $name\"" -c $src -o $out/$core/$model.$(basename $src .c).o
    done
    $arm -nostartfiles -T $here/$ld -L$here -Wl,--gc-sections --specs=nano.specs -o $out/$core/$model.elf \
        $out/$core/$model.$model.o $out/$core/$model.main.o $out/$core/$model.$model.host_state.o $out/$core/data.o \
        $objects -L$out/$core -ldnnrt_core -lm
    echo "== arm-none-eabi-size $out/$core/$model.elf (.text: code; .rodata: weights, images, the host's state)"
    arm-none-eabi-size -A $out/$core/$model.elf | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "%-8s %8d\n", $1, $2 }'
    echo "== qemu-system-arm -M $board ($name)"
    if ! timeout 900 qemu-system-arm -M $board -nographic -monitor none -serial none \
            -semihosting-config enable=on,target=native -kernel $out/$core/$model.elf >$out/$core/$model.out 2>&1; then
        status=1
    fi
    cat $out/$core/$model.out
done
exit $status
