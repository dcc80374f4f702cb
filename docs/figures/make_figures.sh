#!/usr/bin/env sh
# Regenerate the init-stats figures of the README and docs/commands/init-stats.md with
# nncli itself:
#   1. the weight histograms of both Xavier and both Kaiming schemes against their
#      theoretical densities;
#   2. 30 ReLU layers: xavier_normal vanishes, kaiming_normal is stable, N(0, 1) explodes;
#   3. 30 tanh layers: Xavier and Kaiming (tanh gain) are stable, N(0, 0.01) vanishes.
# Run from anywhere:
#     sh docs/figures/make_figures.sh
set -eu
cd "$(dirname "$0")"
NNCLI=${NNCLI:-nncli}
export NO_COLOR=1
$NNCLI init-stats xavier kaiming --hist init-stats-hist.png --seed 0 --device cpu >/dev/null
$NNCLI init-stats xavier_normal kaiming_normal normal --depth 30 --activation relu \
    --plot init-stats-depth-relu.png --seed 0 --device cpu >/dev/null
$NNCLI init-stats xavier_normal kaiming_normal normal --depth 30 --activation tanh \
    --nonlinearity tanh --std 0.01 --plot init-stats-depth-tanh.png --seed 0 --device cpu >/dev/null
