#!/bin/sh
# tests/firmware-train/run.sh [CORE...] — the fine-tuning example
# (examples/firmware-train/build.sh) under QEMU, on the Cortex-M4 by
# default (make check), or on the cores named: m3 m4 m7 m33 m55
# (`make firmware-train-cores`). For each core and configuration
# (lenet5_dense: the last two dense layers trained; lenet5_bias: the biases
# and the last layer):
#   CORE.CONFIG.runs: the firmware ran to its end;
#   CORE.CONFIG.gain: its accuracy on the 1,000 held-out upside-down images
#     rose by at least 5 points;
#   CORE.CONFIG.same_as_host: its final trainable tensors equal the host
#     build's bit for bit, and so does every loss it printed;
#   CORE.CONFIG.reset: NAME_init then NAME_load of its saved state bring
#     back the fine-tuned tensors;
#   CORE.CONFIG.ram: `sizeof(NAME_model)` on the target is --emit=report's
#     "RAM of the model", its weights in flash the report's frozen + initial;
#   CORE.CONFIG.icount: instructions per training step and per
#     classification (tests/firmware-train/icount.sh: deterministic);
# and CORE.mathf: the example's expf and logf give the host's bits over a
# sweep of every kind of float (tests/firmware-train/mathf_sweep.c).
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS firmware-train/$1"; }
fail() { echo "FAIL firmware-train/$1: $2"; }
for need in arm-none-eabi-gcc:gcc-arm-none-eabi qemu-system-arm:qemu-system-arm \
            /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz:dataset-fashion-mnist; do
    if [ ! -e "${need%%:*}" ] && ! command -v "${need%%:*}" >/dev/null; then
        echo "SKIP firmware-train: ${need%%:*} is missing (make check installs ${need#*:} as root)"
        exit 0
    fi
done
out=build/firmware-train
. examples/firmware-train/cores.sh
number() { sed -n "s/$1/\\1/p" "$2" | head -n 1; } # number SED-PATTERN FILE: its first \1

for core in ${*:-m4}; do
    if ! core_settings "$core"; then
        fail "$core" "no such core (one of $cores)"
        continue
    fi
    rm -f $out/$core/*.out
    CORE=$core sh examples/firmware-train/build.sh >"$tmp/build" 2>&1
    for config in dense bias; do
        model=lenet5_$config t=$core.$config
        dev=$out/$core/$model.out host=$out/$model.host.out
        if ! grep -q '^final weights against the host' "$dev" 2>/dev/null; then
            fail "$t.runs" "$(tail -n 3 "$dev" "$tmp/build" 2>/dev/null | tr '\n' ' ')"
            continue
        fi
        pass "$t.runs"
        before=$(number '^accuracy before: .* (\([0-9]*\) of 1000 .*' "$dev")
        after=$(number '^accuracy after: .* (\([0-9]*\) of 1000 .*' "$dev")
        if [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -ge 50 ]; then
            pass "$t.gain (1,000 held-out upside-down images: $before -> $after right)"
        else
            fail "$t.gain" "'$before' -> '$after' of 1000 right, want 50 more"
        fi
        trainable=$(number "^#define $(echo $model | tr a-z A-Z)_NUM_PARAMS \\([0-9]*\\) .*" $out/$model.h)
        sed '1d; /^final weights/d; /^stack: /d' "$dev" >"$tmp/dev.log"  # but the lines the host has not
        sed 1d "$host" >"$tmp/host.log"                                  # (and the first: it names the core)
        if grep -q "^final weights against the host's: 0 of $trainable values differ" "$dev" &&
            cmp -s "$tmp/dev.log" "$tmp/host.log"; then
            pass "$t.same_as_host ($trainable trainable values and every loss printed, bit for bit)"
        else
            fail "$t.same_as_host" "$(grep '^final' "$dev"); log: $(diff "$tmp/dev.log" "$tmp/host.log" | sed -n 2p)"
        fi
        if grep -q '^the state after NAME_init and NAME_load of its [0-9]* bytes (NAME_save): the fine-tuned tensors$' "$dev"; then
            pass "$t.reset ($(number '.* of its \([0-9]*\) bytes .*' "$dev") bytes of state)"
        else
            fail "$t.reset" "$(grep '^the state after' "$dev")"
        fi
        sizeof=$(number '.*: \([0-9]*\) bytes of RAM for the model (sizeof).*' "$dev")
        flash=$(number '.*, \([0-9]*\) bytes of weights in flash$' "$dev")
        ram=$(number '^RAM of the model: \([0-9]*\) bytes$' $out/$model.report)
        frozen=$(number '^frozen weights: \([0-9]*\) bytes$' $out/$model.report)
        initial=$(number '^initial weights: \([0-9]*\) bytes$' $out/$model.report)
        if [ -n "$sizeof" ] && [ "$ram" = "$sizeof" ] && [ -n "$flash" ] && [ $((frozen + initial)) = "$flash" ]; then
            pass "$t.ram (sizeof $sizeof B on the target = the report's, stack $(number '^stack: \([0-9]*\) bytes.*' "$dev") B; flash $frozen + $initial B)"
        else
            fail "$t.ram" "sizeof '$sizeof' B on the target, report '$ram'; weights '$flash' B, report '$frozen' + '$initial'"
        fi
        if sh tests/firmware-train/icount.sh $out/$core/$model.elf $board >"$tmp/icount" 2>&1; then
            pass "$t.icount ($(sed 's/^[^:]*: //' "$tmp/icount"))"
        else
            fail "$t.icount" "$(tr '\n' ' ' <"$tmp/icount")"
        fi
    done

    # mathf.c on this core against the host
    if cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror -DHOST tests/firmware-train/mathf_sweep.c \
            examples/firmware-train/mathf.c -lm -o "$tmp/sweep" 2>"$tmp/err" &&
        arm-none-eabi-gcc -std=c99 $cpu -mthumb -Os -ffp-contract=off -Wall -Wextra -Werror -Iexamples/firmware -nostartfiles \
            -T examples/firmware-train/$ld -Lexamples/firmware-train \
            --specs=nano.specs tests/firmware-train/mathf_sweep.c $out/$core/mathf.o $out/$core/startup.o \
            $out/$core/semihost.o -lm -o "$tmp/sweep.elf" 2>>"$tmp/err"; then
        "$tmp/sweep" >"$tmp/sweep.host"
        timeout 300 qemu-system-arm -M $board -nographic -monitor none -serial none \
            -semihosting-config enable=on,target=native -kernel "$tmp/sweep.elf" >"$tmp/sweep.dev" 2>&1
        if [ -s "$tmp/sweep.host" ] && cmp -s "$tmp/sweep.host" "$tmp/sweep.dev"; then
            pass "$core.mathf (expf, logf: the host's bits over a sweep, $(cat "$tmp/sweep.dev"))"
        else
            fail "$core.mathf" "host: $(cat "$tmp/sweep.host"); $core: $(head -c 200 "$tmp/sweep.dev")"
        fi
    else
        fail "$core.mathf" "$(grep -m1 -E 'error|warning' "$tmp/err")"
    fi
done
