#!/bin/sh
# tests/firmware-train/icount.sh — exact guest instructions per training
# step and per classification of a firmware of examples/firmware-train, under
# QEMU:
#
#   sh tests/firmware-train/icount.sh FIRMWARE.elf BOARD [K]   (K: 20 by default)
#
# Runs FIRMWARE on qemu-system-arm -M BOARD (-icount shift=0: a
# deterministic virtual clock) with `steps K` (K training steps on the
# fine-tuning images), `eval K` (K held-out images classified) and each of
# them with `prep` (only those images' preprocessing), every run twice,
# counting the guest instructions with tests/firmware/insn_count.c (built
# into build/icount/ on first use). A step costs (steps − steps prep) / K, a
# classification likewise: the mean over the first K images, without
# NAME_preprocess. Fails unless both runs of each agree. QEMU counts
# instructions, not cycles: no pipeline, wait states or FPU latencies.
# Prints "FIRMWARE: S instructions per training step, F per classification (K=K)".
set -e
cd "$(dirname "$0")/../.."
elf=$1 board=$2 k=${3:-20}
case "$k" in ''|*[!0-9]*|0) echo "icount: K must be a positive integer, not '$k'" >&2; exit 2 ;; esac
if [ ! -f "$elf" ] || [ -z "$board" ]; then
    echo "icount: usage: sh tests/firmware-train/icount.sh FIRMWARE.elf BOARD [K] (no file '$elf')" >&2
    exit 2
fi
plugin=build/icount/insn_count.so
if [ ! -e $plugin ] || [ tests/firmware/insn_count.c -nt $plugin ]; then
    mkdir -p build/icount
    cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden tests/firmware/insn_count.c -o $plugin
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

count() { # count ARG...: the instructions of a whole run with -semihosting-config ...,arg=ARG...
    args=$(printf ',arg=%s' "$@")
    for run in 1 2; do
        if ! timeout 3600 qemu-system-arm -M "$board" -nographic -monitor none -serial none -icount shift=0 \
                -semihosting-config "enable=on,target=native$args" -kernel "$elf" \
                -plugin "$plugin" -d plugin -D "$tmp/log" >"$tmp/out" 2>&1; then
            echo "icount: $elf failed with '$*': $(tail -2 "$tmp/out" | tr '\n' ' ')" >&2
            return 1
        fi
        sed -n 's/^insns \([0-9]*\)$/\1/p' "$tmp/log" >"$tmp/n$run"
    done
    if [ ! -s "$tmp/n1" ] || ! cmp -s "$tmp/n1" "$tmp/n2"; then
        echo "icount: $elf with '$*': two runs counted $(cat "$tmp/n1") and $(cat "$tmp/n2")" >&2
        return 1
    fi
    cat "$tmp/n1"
}
steps=$(count steps "$k"); steps_prep=$(count steps "$k" prep)
eval=$(count eval "$k"); eval_prep=$(count eval "$k" prep)
if [ "$steps" -le "$steps_prep" ] || [ "$eval" -le "$eval_prep" ]; then
    echo "icount: $elf: the steps or classifications cost nothing: $steps, $steps_prep, $eval, $eval_prep" >&2
    exit 1
fi
echo "$elf: $(((steps - steps_prep) / k)) instructions per training step, $(((eval - eval_prep) / k)) per classification (K=$k)"
