#!/usr/bin/env bash
# GPU check for a machine with CUDA (issue 9). Not run in CI: CI has no GPU.
#   1. `run --device cuda` equals the CPU numbers for the same seed (within 1e-5);
#   2. `summary --classic --device cuda` works;
#   3. `init-stats --device cuda --depth 50` works;
#   4. `train` on cuda against the shortest hand-written torch loop on cuda
#      (same data, same model, same optimiser), whole-process wall time and steps/s.
# Usage, from the repository root with nncli installed:
#     bash benchmarks/gpu_check.sh
# Exit status: 0 all checks passed, 1 a check failed.
set -euo pipefail
export NO_COLOR=1
NNCLI=${NNCLI:-nncli}
PYTHON=${PYTHON:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || {
    echo "gpu_check: torch sees no CUDA device" >&2
    exit 1
}
"$PYTHON" -c 'import torch; print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)'

echo "== 1. run: cuda equals cpu (same seed, within 1e-5)"
for config in demo mnist_mlp deep_tanh; do
    $NNCLI run --config "$config" --seed 7 --batch 64 --device cpu --json >"$work/cpu.json"
    $NNCLI run --config "$config" --seed 7 --batch 64 --device cuda --json >"$work/cuda.json"
    "$PYTHON" - "$work/cpu.json" "$work/cuda.json" "$config" <<'PY'
import json, sys
cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
a, b = cpu["output"], gpu["output"]
diff = max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))
print(f"  {sys.argv[3]}: max |cpu - cuda| = {diff:.3g}")
sys.exit(0 if diff <= 1e-5 else 1)
PY
done

echo "== 2. summary --classic --device cuda"
$NNCLI summary --classic --device cuda >"$work/summary.txt"
grep -q "Total params" "$work/summary.txt" && echo "  ok"

echo "== 3. init-stats --device cuda --depth 50"
$NNCLI init-stats --device cuda --depth 50 --json >"$work/init.json"
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  ok:", d["command"])' "$work/init.json"

echo "== 4. train on cuda vs the hand-written loop on cuda"
"$PYTHON" - "$work" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
n, d = 200_000, 784
x = rng.standard_normal((n, d), dtype=np.float32)
labels = rng.integers(0, 10, n).astype(np.float32)
np.save(f"{sys.argv[1]}/big.npy", np.concatenate([x, labels[:, None]], axis=1))
PY
cat >"$work/loop.py" <<'PY'
import sys, time
import numpy as np
import torch
from torch import nn
t0 = time.perf_counter()
table = np.load(sys.argv[1])
x = torch.from_numpy(table[:, :-1].copy())
y = torch.from_numpy(table[:, -1].astype(np.int64))
perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
x, y = x[perm].cuda(), y[perm].cuda()
half = len(x) // 2
x_train, y_train = x[:half], y[:half]
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 10), nn.Softmax(dim=1)).cuda()  # as mnist_mlp
opt = torch.optim.Adam(model.parameters(), lr=0.03)
loss_fn = nn.CrossEntropyLoss()
g = torch.Generator().manual_seed(0)
steps = 0
t1 = time.perf_counter()
for epoch in range(2):
    order = torch.randperm(half, generator=g).cuda()
    for i in range(0, half, 256):
        idx = order[i:i + 256]
        opt.zero_grad()
        loss_fn(model(x_train[idx]), y_train[idx]).backward()
        opt.step()
        steps += 1
torch.cuda.synchronize()
t2 = time.perf_counter()
print(f"  hand-written loop: {steps / (t2 - t1):,.0f} steps/s; whole script {t2 - t0:.2f} s")
PY
start=$(date +%s.%N)
"$PYTHON" "$work/loop.py" "$work/big.npy"
loop=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
$NNCLI train --data "$work/big.npy" --config mnist_mlp --epochs 2 --batch 256 \
    --lr 0.03 --device cuda --quiet --json >"$work/train.json"
cli=$(echo "$(date +%s.%N) - $start" | bc)
"$PYTHON" - "$work/train.json" "$loop" "$cli" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
loop, cli = float(sys.argv[2]), float(sys.argv[3])
print(f"  nncli train: {run['steps_per_second']:,.0f} steps/s; whole process {cli:.2f} s")
print(f"  ratio (whole process): {cli / loop:.2f}x the hand-written script (target <= 1.2x)")
PY
echo "gpu_check: all checks ran"
