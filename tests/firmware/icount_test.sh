#!/bin/sh
# tests/firmware/icount_test.sh — checks the instruction-count harness
# (icount.sh, iprofile.sh, insn_count.c, icount_main.c) on firmware whose
# inference is known exactly (icount_known.c: N nops and a return).
# Prints PASS/FAIL/SKIP lines like the tests/*/run.sh suites.
cd "$(dirname "$0")/../.." || exit 2
for tool in arm-none-eabi-gcc qemu-system-arm; do
    if ! command -v $tool >/dev/null; then
        echo "SKIP icount: $tool is not installed"
        exit 0
    fi
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
arm="arm-none-eabi-gcc -std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
     -Wall -Wextra -Werror -ffunction-sections -fdata-sections -Iexamples/firmware"
firmware() { # firmware NAME FLAGS...: tests/firmware/icount_main.c with icount_known.c
    name=$1; shift
    $arm "$@" -c tests/firmware/icount_known.c -o $tmp/$name-known.o &&
    $arm -nostartfiles -T examples/firmware/mps2-an386.ld -Wl,--gc-sections --specs=nano.specs \
        tests/firmware/icount_main.c $tmp/$name-known.o examples/firmware/startup.c \
        examples/firmware/semihost.c -o $tmp/$name.elf
}
per_inference() { sed -n 's/.*: \([0-9]*\) instructions per inference.*/\1/p'; }

firmware n1000 -DNOPS=1000 && firmware n3000 -DNOPS=3000 && firmware bad -DNOPS=10 -DBAD_CHECK &&
    firmware stack -DNOPS=1000 -DSTACK=384 ||
    { echo "FAIL icount.builds: the test firmware does not build"; exit 0; }
a=$(sh tests/firmware/icount.sh $tmp/n1000.elf | per_inference)
b=$(sh tests/firmware/icount.sh $tmp/n3000.elf 3 | per_inference)
if [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -eq 2000 ] && [ "$a" -gt 1001 ] && [ "$a" -lt 1020 ]; then
    echo "PASS icount.exact (1000 nops: $a per inference, the loop and call around them included; 3000: $b)"
else
    echo "FAIL icount.exact: 1000 nops gave '$a' and 3000 nops '$b' instructions per inference (want 2000 apart)"
fi
c=$(sh tests/firmware/icount.sh $tmp/stack.elf)
if [ "$(echo "$c" | per_inference)" = $((a + 3)) ] && echo "$c" | grep -q ", stack 384 bytes$"; then
    echo "PASS icount.stack (a word written 384 bytes down: stack 384 bytes; 3 instructions more)"
else
    echo "FAIL icount.stack: $c (want $((a + 3)) instructions, stack 384 bytes)"
fi
profile=$(sh tests/firmware/iprofile.sh $tmp/n1000.elf)
if echo "$profile" | grep -q "^ *1001 .* infer_once$" && echo "$profile" | grep -q "^ *$a .*(one inference)$"; then
    echo "PASS icount.profile (infer_once: 1001 instructions, the total $a as icount.sh)"
else
    echo "FAIL icount.profile: $(echo "$profile" | tr '\n' ';')"
fi
if sh tests/firmware/icount.sh $tmp/bad.elf >$tmp/out 2>&1; then
    echo "FAIL icount.bad_outputs: a firmware whose check fails was counted: $(cat $tmp/out)"
else
    echo "PASS icount.bad_outputs ($(head -1 $tmp/out | cut -c1-100))"
fi
sh tests/firmware/icount.sh $tmp/n1000.elf 0 >$tmp/out 2>&1; s1=$?
sh tests/firmware/icount.sh $tmp/none.elf >>$tmp/out 2>&1; s2=$?
if [ $s1 -eq 2 ] && [ $s2 -eq 2 ] && [ "$(grep -c '^icount: ' $tmp/out)" -eq 2 ]; then
    echo "PASS icount.usage (K = 0 and a missing file: exit 2 with a message)"
else
    echo "FAIL icount.usage: exit $s1 and $s2: $(tr '\n' ' ' <$tmp/out)"
fi
