#!/bin/sh
# make_data.sh [N] — writes N (default 100) linearly separable points to
# stdout as CSV (x1,x2,y): x uniform in [-1, 1)², y = +1 above the line
# 2·x1 − x2 + 0.3 = 0 and −1 below, points within 0.2 of it left out (a
# margin, so that the perceptron converges in a few epochs). The numbers
# come from the Park–Miller generator (seed 1), exact in awk's doubles:
# the same file on every machine. examples/perceptron/points.csv is its
# output.
awk -v n="${1:-100}" 'BEGIN {
    state = 1
    print "x1,x2,y"
    while (count < n) {
        state = (state * 16807) % 2147483647; x1 = 2 * state / 2147483647 - 1
        state = (state * 16807) % 2147483647; x2 = 2 * state / 2147483647 - 1
        side = 2 * x1 - x2 + 0.3
        if (side > -0.2 && side < 0.2)
            continue
        printf "%.4f,%.4f,%d\n", x1, x2, (side > 0 ? 1 : -1)
        count++
    }
}'
