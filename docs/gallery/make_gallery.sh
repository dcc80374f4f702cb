#!/usr/bin/env sh
# Regenerate the README gallery with nncli itself: the tutorial's four activations,
# one overlay, and one figure in Chinese. Run from anywhere:
#     sh docs/gallery/make_gallery.sh
# The zh figure needs a CJK font (e.g. fonts-wqy-microhei); without one nncli
# warns and draws it in English.
set -eu
cd "$(dirname "$0")"
NNCLI=${NNCLI:-nncli}
export NO_COLOR=1
for name in sigmoid tanh relu softmax; do
    $NNCLI plot "$name" -o "$name.png" --dpi 100
done
$NNCLI plot sigmoid tanh relu gelu -o compare.png --dpi 100
$NNCLI plot sigmoid --lang zh -o sigmoid_zh.png --dpi 100
