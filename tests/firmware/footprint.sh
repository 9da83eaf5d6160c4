#!/bin/sh
# tests/firmware/footprint.sh — where an object file's bytes go, by section
# kind: "code C B, constants R B, RAM D B" (.text*, .rodata*, .data* + .bss*),
# leaving out sections whose names match the regular expression EXCLUDE
# (e.g. a self-test's). Sizes in the object, before --gc-sections.
#   sh tests/firmware/footprint.sh OBJECT.o [EXCLUDE]
[ -f "$1" ] || { echo "footprint: usage: sh tests/firmware/footprint.sh OBJECT.o [EXCLUDE] (no file '$1')" >&2; exit 2; }
arm-none-eabi-size -A "$1" | awk -v skip="${2:-^$}" '
    $2 > 0 && $1 !~ skip {
        if ($1 ~ /^\.text/) code += $2
        else if ($1 ~ /^\.rodata/) rodata += $2
        else if ($1 ~ /^\.(data|bss)/) ram += $2
    }
    END { printf "code %d B, constants %d B, RAM %d B\n", code, rodata, ram }'
