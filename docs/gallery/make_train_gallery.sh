#!/usr/bin/env sh
# Regenerate the README's training figure with nncli itself: the issue's comparison,
# a deep sigmoid stack against ReLU, each with Xavier and He (Kaiming) init, on the
# two-arm spiral. The lesson shows in the gradient panel (the sigmoid stack's first
# layer gets orders of magnitude less gradient than its last) and in the decision
# boundaries (ReLU + He follows the arms, the sigmoid stack barely moves).
# Run from anywhere:
#     sh docs/gallery/make_train_gallery.sh
set -eu
cd "$(dirname "$0")"
NNCLI=${NNCLI:-nncli}
export NO_COLOR=1
$NNCLI train spiral --hidden 8,8,8,8,8 --activation sigmoid,relu \
    --init xavier_normal,kaiming_normal --epochs 300 --lr 0.01 --seed 0 --device cpu --quiet \
    --plot train_compare.png --dpi 100
