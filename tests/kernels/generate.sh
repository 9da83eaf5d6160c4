# tests/kernels/generate.sh — sourced by run.sh and throughput.sh with $k
# set to an empty directory: writes the cases, one X-macro line per layer
# shape, into $k/cases.h (kernel_cases.h reads it). Anything that went
# wrong is a line of $k/failures.
mkdir -p "$k"
: >"$k/cases.h"
: >"$k/failures"

# dense: IN UNITS BIAS — the MLP's and LeNet-5's layers, tails of in % 8,
# rows left after the blocks of 6 and 8, tiny and biasless layers
for shape in "784 128 1" "128 64 1" "64 10 1" "400 120 1" "120 84 1" "84 10 1" "13 7 1" "5 3 0" "1 1 1" \
    "16 6 0" "9 13 1" "8 1 1" "17 20 0" "24 9 1"; do
    set -- $shape
    echo "DENSE(dense_$1_$2_$3, $1, $2, $3)" >>"$k/cases.h"
done

# conv2d: C H W F K S P BIAS — LeNet-5's layers (columns in the lanes with
# a padded input; filters in the lanes), the columns kernel's odd row
# count and tile shapes, filters not a multiple of 8 (tiles of 1, 2 and 3
# vectors), strides and padding, the direct loops (too few filters, too
# large an input), a kernel larger than a tile, 1 × 1, biasless
for shape in "1 28 28 6 5 1 2 1" "6 14 14 16 5 1 0 1" "2 7 12 3 3 1 0 1" "1 10 18 4 3 1 0 0" "3 9 11 12 3 2 1 1" \
    "2 6 6 24 3 1 0 1" "2 9 9 3 3 2 1 1" "16 66 66 4 3 1 0 1" "1 20 20 8 17 1 0 1" "12 7 9 5 3 2 1 1" \
    "8 5 5 8 1 1 0 1" "4 8 8 4 3 1 1 0"; do
    set -- $shape
    echo "CONV(conv_$(echo "$shape" | tr ' ' _), $1, $2, $3, $4, $5, $6, $7, $8)" >>"$k/cases.h"
done

# conv2d → activation → pool (--inference's fused step): C H W F K S P BIAS
# PK PS PP POOL ACT — LeNet-5's; the columns kernel with no activation and
# with avgpool; the lanes kernel with overlapping windows, a window too
# large for the fixed tile, activations done lane by lane; padded maxpool
# and too few filters (the rows kernel)
for shape in "1 28 28 6 5 1 2 1 2 2 0 max relu" "6 14 14 16 5 1 0 1 2 2 0 max relu" "1 28 28 6 5 1 2 1 2 2 0 max none" \
    "1 28 28 3 3 1 0 1 2 2 0 avg relu" "4 12 12 8 3 1 1 1 3 2 0 max relu" "1 14 14 8 3 1 1 1 6 6 0 max relu" \
    "1 28 28 6 5 1 2 1 2 2 0 max sigmoid" "4 12 12 8 3 1 1 0 2 2 0 avg leaky_relu" "4 12 12 8 3 1 1 1 3 2 1 max relu" \
    "2 9 9 2 3 2 1 1 2 2 0 avg relu" "6 14 14 16 5 1 0 1 2 2 0 avg none" "3 10 10 5 3 1 0 1 2 2 0 max relu"; do
    set -- $shape
    max=1; [ "${12}" = avg ] && max=0
    echo "CONVPOOL(cp_$(echo "$shape" | tr ' ' _), $1, $2, $3, $4, $5, $6, $7, $8, ${9}, ${10}, ${11}, $max, ${13})" \
        >>"$k/cases.h"
done

# pooling: C H W K S P POOL — LeNet-5's maxpools (tiled; the 2 x 2
# gradient 4 windows at a time, and the windows left), windows that leave
# rows and columns uncovered, K = 3 and 5, avgpool, overlapping and padded
# windows (the plain loops)
for shape in "6 28 28 2 2 0 max" "16 10 10 2 2 0 max" "3 7 9 3 3 0 max" "2 6 6 2 2 0 max" "3 9 8 2 2 0 max" \
    "4 8 8 2 2 0 avg" "3 9 9 3 2 0 max" "3 9 9 3 2 1 max" "2 7 7 3 3 0 avg" "2 5 5 5 5 0 max"; do
    set -- $shape
    max=1; [ "$7" = avg ] && max=0
    echo "POOL(pool_$(echo "$shape" | tr ' ' _), $1, $2, $3, $4, $5, $6, $max)" >>"$k/cases.h"
done

# grouped conv2d (dnn_kernels_group.h): C H W F KH KW SH SW PT PB PL PR G BIAS —
# depthwise with 'same' padding at stride 1 and 2 (the odd pad after),
# DS-CNN's 25 x 5 maps, a rectangular kernel, rows long enough for the
# stride-2 vectors; pointwise, grouped pointwise and MobileNet's widest;
# the matrix products (dnn_kernels_gemm.h; the plain loops without
# vectors): groups of several channels, a depthwise multiplier of 2,
# DS-CNN's 10 x 4 stride-2 stem, two groups over bands of one output row
# (taps x columns past DNN_GEMM_FLOATS); convs whose output has the
# input's shape are also computed over their input (dnn_conv2d_in_place);
# depthwise flat on the padded plane's phases (a rectangular kernel,
# asymmetric pads at stride 1; odd sizes at stride 2) and, past
# DNN_FLAT_FLOATS, row by row
for shape in "8 9 9 8 3 3 1 1 1 1 1 1 8 1" "6 10 8 6 3 3 2 2 0 1 0 1 6 1" "5 25 5 5 3 3 1 1 1 1 1 1 5 0" \
    "4 7 6 4 2 3 2 1 1 0 0 2 4 1" "3 9 40 3 3 3 2 2 1 1 1 1 3 1" "16 5 5 24 1 1 1 1 0 0 0 0 1 1" \
    "12 6 7 9 1 1 1 1 0 0 0 0 3 0" "64 3 3 32 1 1 1 1 0 0 0 0 1 1" "4 7 9 6 3 2 2 1 1 2 0 1 2 1" \
    "3 6 6 6 3 3 1 1 1 1 1 1 3 1" "1 49 10 8 10 4 2 2 4 5 1 1 1 1" \
    "12 4 5 12 1 1 1 1 0 0 0 0 1 1" "6 7 5 6 3 3 1 1 1 1 1 1 2 1" "4 8 6 4 4 2 1 1 1 2 0 1 1 0" \
    "16 8 8 16 3 3 1 1 1 1 1 1 1 1" "8 12 140 6 5 5 1 1 2 2 2 2 2 1" "4 7 6 4 2 3 1 1 1 0 0 2 4 1" \
    "2 66 62 2 3 3 1 1 1 1 1 1 2 0" "5 11 9 5 3 3 2 2 1 1 1 1 5 0"; do
    set -- $shape
    echo "GCONV(gconv_$(echo "$shape" | tr ' ' _), $*)" | sed 's/\([0-9]\) /\1, /g' >>"$k/cases.h"
done

# optimizer updates: each optimizer of torch.optim dnnc has, with and
# without momentum
for opt in sgd sgd_momentum sgd_nesterov adam adamw adagrad rmsprop rmsprop_momentum; do
    echo "UPDATE(upd_$opt, $opt)" >>"$k/cases.h"
done
