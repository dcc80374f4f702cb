#!/usr/bin/env sh
# Regenerate the README's network diagrams with nncli itself (`nncli draw`).
#
# demo.png: the tutorial's demo, 3 → 3 → 2 → 2, with its seeded init (seed 0: the weights
# `nncli run --seed 0 --params` prints); demo_zh.png the same with Chinese titles.
# draw_xor.png: a 2 → 4 → 1 network after `nncli train xor`, its learned weights, and one
# sample (1, -1) flowing forward (the demo has 3 inputs, xor 2, so xor's own checkpoint).
# lenet5.png: a CNN config, too big for neurons, drawn as blocks.
# residual.png: torchvision's BasicBlock with a downsample (--model), the skip as a merge.
# The Mermaid text in the README is `nncli draw --format mermaid` (a test checks they are equal).
# Figures are byte-reproducible: rerunning rewrites the same files.
# Run from anywhere:
#     sh docs/gallery/make_draw_gallery.sh
set -eu
cd "$(dirname "$0")/../.."  # the repository: --model's SPEC is shown as given
NNCLI=${NNCLI:-nncli}
G=docs/gallery
export NO_COLOR=1
$NNCLI draw --seed 0 -o $G/demo.png --dpi 100 >/dev/null
$NNCLI draw --seed 0 --lang zh -o $G/demo_zh.png --dpi 100 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$NNCLI train xor --hidden 4 --epochs 300 --seed 0 --device cpu --quiet --save "$tmp/xor.pt" \
    >/dev/null
$NNCLI draw --weights "$tmp/xor.pt" --input 1,-1 -o $G/draw_xor.png --dpi 100 >/dev/null
$NNCLI draw --config lenet5 -o $G/lenet5.png --dpi 100 >/dev/null
$NNCLI draw --model tests/models/draw_nets.py:residual_down --input-size 8,16,16 -o $G/residual.png \
    --dpi 100 >/dev/null
# The README's ```mermaid block: paste `$NNCLI draw --format mermaid` (tests/test_docs.py checks).
