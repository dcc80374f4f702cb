#!/usr/bin/env sh
# Regenerate the README's training figures with nncli itself.
#
# train_compare.png (and train_compare_zh.png, the same in Chinese): the issue's
# comparison, a deep sigmoid stack against ReLU, each with Xavier and He (Kaiming)
# init, on the two-arm spiral. The lesson shows in the signal panel (the sigmoid
# stacks' layer 1 starts with orders of magnitude less backpropagated signal than
# their last layer, below the dotted "vanishing" line) and in the decision boundaries
# (ReLU + He follows the arms, the sigmoid stack barely moves).
# train_xor.png: one run, as a newcomer's first `nncli train xor` draws it (one row:
# curves, signal, boundary). train_sine.png: a regression surface with its colorbar.
# Run from anywhere:
#     sh docs/gallery/make_train_gallery.sh
set -eu
cd "$(dirname "$0")"
NNCLI=${NNCLI:-nncli}
export NO_COLOR=1
for lang in en zh; do
    suffix=$([ "$lang" = en ] && echo "" || echo "_$lang")
    $NNCLI train spiral --hidden 8,8,8,8,8 --activation sigmoid,relu \
        --init xavier_normal,kaiming_normal --epochs 300 --lr 0.01 --seed 0 --device cpu \
        --quiet --lang "$lang" --plot "train_compare$suffix.png" --dpi 100 >/dev/null
done
$NNCLI train xor --seed 0 --device cpu --quiet --plot train_xor.png --dpi 100 >/dev/null
$NNCLI train sine --hidden 8,8 --seed 0 --device cpu --quiet --plot train_sine.png --dpi 100 >/dev/null
