#!/bin/sh
# tests/firmware/icount.sh — exact guest instructions per inference of a
# Cortex-M4 firmware built with tests/firmware/icount_main.c, under QEMU.
#
#   sh tests/firmware/icount.sh FIRMWARE.elf [K]      (K: 1 by default)
#
# Runs the firmware on qemu-system-arm -M mps2-an386 (-icount shift=0: a
# deterministic virtual clock) with K and then K+1 inferences, each twice,
# counting every guest instruction executed with the plugin insn_count.c
# (built into build/icount/ on first use). The count per inference is the
# difference; it fails unless both runs of each are identical, the outputs
# were as expected and the difference is positive. QEMU counts
# instructions, not cycles: no pipeline, wait states or FPU latencies.
# Prints "FIRMWARE: N instructions per inference (K=K: A, K+1: B), stack S bytes".
set -e
cd "$(dirname "$0")/../.."
elf=$1
reps=${2:-1}
case "$reps" in ''|*[!0-9]*|0) echo "icount: K must be a positive integer, not '$reps'" >&2; exit 2 ;; esac
if [ ! -f "$elf" ]; then
    echo "icount: usage: sh tests/firmware/icount.sh FIRMWARE.elf [K] (no file '$elf')" >&2
    exit 2
fi
for tool in qemu-system-arm cc; do
    command -v $tool >/dev/null || { echo "icount: $tool is not installed" >&2; exit 2; }
done
plugin=build/icount/insn_count.so
if [ ! -e $plugin ] || [ tests/firmware/insn_count.c -nt $plugin ]; then
    mkdir -p build/icount
    cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden tests/firmware/insn_count.c -o $plugin
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

count() { # count K: the instructions of a whole run with K inferences; its output in $tmp/out
    if ! timeout 3600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -icount shift=0 \
            -semihosting-config enable=on,target=native,arg="$1" -kernel "$elf" \
            -plugin "$plugin" -d plugin -D "$tmp/log" >"$tmp/out" 2>&1; then
        echo "icount: $elf failed with $1 inferences: $(tail -2 "$tmp/out" | tr '\n' ' ')" >&2
        return 1
    fi
    sed -n 's/^insns \([0-9]*\)$/\1/p' "$tmp/log"
}
a=$(count "$reps"); a2=$(count "$reps")
stack=$(sed -n 's/^icount: stack \([0-9]*\) bytes$/\1/p' "$tmp/out")
b=$(count $((reps + 1))); b2=$(count $((reps + 1)))
if [ -z "$a" ] || [ -z "$b" ] || [ "$a" != "$a2" ] || [ "$b" != "$b2" ] || [ "$b" -le "$a" ]; then
    echo "icount: $elf: counts not deterministic or not increasing: K=$reps: $a, $a2; K+1: $b, $b2" >&2
    exit 1
fi
echo "$elf: $((b - a)) instructions per inference (K=$reps: $a, K+1: $b), stack ${stack:-?} bytes"
