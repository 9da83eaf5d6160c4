#!/bin/sh
# examples/program.sh MODEL.dnn DIR — builds the training program of a model
# (dnnc --main) as DIR/NAME and prints its path. Run from the project root
# after `make`. A program already built from the same C, and newer than the
# runtime it links, is kept (the firmware tests build each model's twice).
set -e
model=$1 dir=$2
name=$(basename "$model" .dnn)
mkdir -p "$dir/.new"
if ! build/dnnc --main "$model" -o "$dir/.new/$name.c"; then
    rm -r "$dir/.new" # (dnnc has said why)
    exit 1
fi
if [ -x "$dir/$name" ] && cmp -s "$dir/.new/$name.c" "$dir/$name.c" && cmp -s "$dir/.new/$name.h" "$dir/$name.h" &&
   [ -z "$(find build/libdnnrt.a runtime -newer "$dir/$name" \( -name '*.h' -o -name '*.a' \) -print)" ]; then
    rm -r "$dir/.new"
else
    rm -f "$dir/$name" # not kept if this compile fails
    mv "$dir/.new/$name.c" "$dir/.new/$name.h" "$dir" && rmdir "$dir/.new"
    ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Iruntime "$dir/$name.c" build/libdnnrt.a -lz -lm -o "$dir/$name"
fi
echo "$dir/$name"
