#!/bin/sh
# tests/firmware/iprofile.sh — guest instructions per inference, by function,
# of a firmware built with tests/firmware/icount_main.c (see icount.sh).
#
#   sh tests/firmware/iprofile.sh FIRMWARE.elf
#
# Runs it with 1 and with 2 inferences under QEMU, counting executions per
# instruction address (insn_count.c's pcs=FILE), and prints for every
# function that the second inference ran: its instructions, its share of
# the inference, and the function (from the ELF's symbol table; functions
# the compiler inlined count in their caller). The total is the same
# figure icount.sh gives.
set -e
cd "$(dirname "$0")/../.."
elf=$1
if [ ! -f "$elf" ]; then
    echo "iprofile: usage: sh tests/firmware/iprofile.sh FIRMWARE.elf (no file '$elf')" >&2
    exit 2
fi
sh tests/firmware/icount.sh "$elf" >/dev/null   # builds the plugin; fails on a bad firmware
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for k in 1 2; do
    qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -icount shift=0 \
        -semihosting-config enable=on,target=native,arg=$k -kernel "$elf" \
        -plugin build/icount/insn_count.so,pcs="$tmp/pcs$k" -d plugin -D "$tmp/log" >"$tmp/out" 2>&1
done
arm-none-eabi-nm -n -S -t d --defined-only "$elf" | awk '$3 ~ /^[tTwW]$/ { print $1, $2, $4 }' >"$tmp/functions"
awk -v functions="$tmp/functions" '
    BEGIN {
        while ((getline line < functions) > 0) {
            split(line, f, " ")
            n++; start[n] = f[1] + 0; end[n] = start[n] + f[2]; name[n] = f[3]
        }
    }
    FNR == NR { once[$1] = $2; next }
    { extra = $2 - once[$1]; if (extra == 0) next
      pc = $1 + 0; who = "?"
      for (i = 1; i <= n; i++) if (pc >= start[i] && pc < end[i]) { who = name[i]; break }
      count[who] += extra; total += extra }
    END {
        for (who in count) printf "%12d %6.2f%%  %s\n", count[who], 100 * count[who] / total, who | "sort -rn"
        close("sort -rn")
        printf "%12d 100.00%%  (one inference)\n", total
    }' "$tmp/pcs1" "$tmp/pcs2"
