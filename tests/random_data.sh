# tests/random_data.sh — sourced by suites that run the training programs
# of dnnc --main on data of their own (tests/sanitize, tests/gradcheck).
#
# data PROGRAM FILE NAME [ROWS]: 5 batches (or ROWS) of random samples in the CSV layout of the
# program's --help (inputs in [-1, 1), float targets in [0, 1), class labels),
# drawn from a seed made of the case NAME, so that every run trains on the same data
data() {
    "$1" --help | awk -v seed="$(printf %s "$3" | cksum | cut -d' ' -f1)" -v rows="${4:-0}" '
        /^  train DATA/ { if (match($0, /batch [0-9]+/)) batch = substr($0, RSTART + 6, RLENGTH - 6) }
        /^  [A-Za-z_][A-Za-z0-9_]* +(input|target)/ {
            k = ++slots
            if ($0 ~ /class index/) { split($0, r, "\\.\\."); classes[k] = substr(r[2], 1, index(r[2], " ") - 1) + 1 }
            else { match($0, /[0-9]+ floats?/); size[k] = substr($0, RSTART, RLENGTH) + 0; target[k] = $0 ~ /target/ }
        }
        END {
            srand(seed % 100000)
            for (s = 0; s < (rows ? rows : 5 * batch); s++) {
                line = ""
                for (k = 1; k <= slots; k++)
                    if (classes[k]) line = line "," int(rand() * classes[k])
                    else for (i = 0; i < size[k]; i++)
                        line = line "," sprintf("%.4f", target[k] ? rand() : 2 * rand() - 1)
                print substr(line, 2)
            }
        }' >"$2"
}

# light_models: models/*.dnn but the MLPerf Tiny networks (issue 19), whose
# training passes take minutes in the double-precision twin and under the
# sanitizers (DS-CNN's gradcheck over 3 CPU minutes at its batch of 100, 26 s
# at 16; ResNet-8's 64 s at 16). They pass gradcheck (a bias before a
# batchnorm is judged absolutely since issue 19), and the golden cases,
# which these suites run, hold each of them at a small batch.
light_models() {
    for f in models/*.dnn; do
        case $(basename "$f" .dnn) in ds_cnn | resnet8 | mobilenet_v1_025 | fc_autoencoder) ;; *) echo "$f" ;; esac
    done
}
