#!/usr/bin/env sh
# Regenerate the README's loss figures with nncli itself, one figure per idea:
#   1. MSE vs BCE through a sigmoid: MSE's gradient vanishes where the prediction is
#      confidently wrong (stuck: hatched), BCE's (σ(z) − y) does not; both fade where
#      the prediction is right (converged: pale);
#   2. regression losses and outliers: MSE's gradient grows with the error, MAE /
#      Huber / Smooth L1 cap it;
#   3. numerical stability: bce on σ(z) sticks at the −100 log clamp and its gradient
#      dies past z ≈ 27.64 (stuck there), bce_with_logits stays exact;
#   4. multi-class: cross-entropy vs MSE through softmax, and the multi-class hinge;
#   5. figure 1 in Chinese.
# Run from anywhere:
#     sh docs/gallery/make_loss_gallery.sh
# The zh figure needs a CJK font (e.g. fonts-wqy-microhei); without one nncli
# warns and draws it in English.
set -eu
cd "$(dirname "$0")"
NNCLI=${NNCLI:-nncli}
export NO_COLOR=1
$NNCLI loss mse bce --through sigmoid -o loss_mse_bce_sigmoid.png --dpi 100
$NNCLI loss mse mae huber smooth_l1 --beta 2 -o loss_regression.png --dpi 100
$NNCLI loss bce bce_with_logits --logits --target 0 --range -20 120 \
    -o loss_bce_stability.png --dpi 100
$NNCLI loss cross_entropy mse --through softmax -o loss_softmax.png --dpi 100
$NNCLI loss cross_entropy multi_margin -o loss_multiclass.png --dpi 100
$NNCLI loss mse bce --through sigmoid --lang zh -o loss_mse_bce_sigmoid_zh.png --dpi 100
