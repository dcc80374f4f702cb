"""Real data with defaults: ``nncli train --data FILE`` against sklearn's MLPClassifier.

sklearn's bundled iris, wine, breast_cancer and digits are exported to CSV (the
features, then a last ``target`` column; a header row) in a temporary folder. Each is
trained with ``nncli train --data FILE.csv --json`` and nothing else: the default
model, optimiser, epochs and split, and the default standardisation of ``--data``.
sklearn's ``MLPClassifier`` (its default settings, ``random_state=0`` and ``max_iter``
high enough to converge) is fitted on THE SAME training rows, standardised the same
way: both come from :func:`nncli.core.train.datasets.load_table` on the same CSV,
which is what the command reads (its split and the training split's mean and std).

Printed per dataset: nncli's final test accuracy and verdict, MLPClassifier's test
accuracy, and the difference in points. Target: within 3 points of MLPClassifier
(nncli may be better by any margin) and the verdict "learned". Exit 1 if a target is
missed. Nothing is timed.

    python benchmarks/bench_real_data.py [--keep DIR] [--seed N] [--nncli-args "..."]

``--seed`` changes the split of both (and nncli's initialisation); ``--nncli-args``
adds options to every ``nncli train`` call, to try a candidate default (for example
``--nncli-args "--hidden 32,32 --weight-decay 0.01 --lr 0.01"``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import nncli

DATASETS = ("iris", "wine", "breast_cancer", "digits")
MAX_POINTS_BEHIND = 3.0  # nncli's test accuracy may trail MLPClassifier's by this much
WANTED_VERDICT = "learned"
MAX_ITER = 5000  # MLPClassifier's epochs: enough for all four to converge (default 200)


@dataclass
class Row:
    name: str
    rows: int
    features: int
    classes: int
    ours: float
    verdict: str
    evidence: str
    next_step: str | None
    theirs: float
    theirs_iter: int

    @property
    def points(self) -> float:
        """nncli's accuracy minus MLPClassifier's, in percentage points."""
        return 100 * (self.ours - self.theirs)

    @property
    def ok(self) -> bool:
        return self.points >= -MAX_POINTS_BEHIND and self.verdict == WANTED_VERDICT


def export(name: str, folder: Path) -> Path:
    """sklearn's bundled ``name`` as CSV: its feature names, then ``target``; one row each."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*(str(n) for n in bunch.feature_names), "target"])
        for features, target in zip(bunch.data, bunch.target, strict=True):
            out.writerow([*(repr(float(v)) for v in features), int(target)])
    return path


def ours(path: Path, seed: int, extra: list[str]) -> dict:
    """``nncli train --data PATH --json``: all defaults (but ``extra``)."""
    env = {**os.environ, "NO_COLOR": "1"}
    argv = nncli("train", "--data", str(path), "--json", "--seed", str(seed), *extra)
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"nncli train --data {path} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


def theirs(path: Path, seed: int) -> tuple[float, int]:
    """MLPClassifier's test accuracy on nncli's split and standardisation, and its epochs."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from nncli.core.train.datasets import load_table

    data = load_table(str(path), seed=seed)  # the split and standardisation the command uses
    assert data.standardization is not None, "--data is standardised by default"
    model = MLPClassifier(random_state=0, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # not converged: say so
        model.fit(data.x_train, data.y_train)
    return float(model.score(data.x_test, data.y_test)), int(model.n_iter_)


def compare(name: str, folder: Path, seed: int, extra: list[str]) -> Row:
    path = export(name, folder)
    doc = ours(path, seed, extra)
    run = doc["runs"][0]
    accuracy, n_iter = theirs(path, seed)
    return Row(
        name=name,
        rows=doc["dataset"]["samples"],
        features=len(doc["dataset"]["features"]),
        classes=doc["dataset"]["classes"],
        ours=run["history"][-1]["test_accuracy"],
        verdict=run["verdict"],
        evidence=run["evidence"],
        next_step=run.get("next_step"),
        theirs=accuracy,
        theirs_iter=n_iter,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the CSV files here (kept)")
    parser.add_argument("--seed", type=int, default=0, help="the split's seed (default 0)")
    parser.add_argument("--nncli-args", default="", help="options added to nncli train")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(
            f"{'dataset':<14}{'rows':>6}{'feat':>6}{'cls':>5}  {'nncli':>6}  "
            f"{'MLPClassifier':>13}  {'points':>7}  verdict",
            flush=True,
        )
        rows = []
        for name in DATASETS:
            row = compare(name, folder, args.seed, shlex.split(args.nncli_args))
            rows.append(row)
            print(
                f"{row.name:<14}{row.rows:>6}{row.features:>6}{row.classes:>5}  "
                f"{row.ours:>6.3f}  {row.theirs:>6.3f} ({row.theirs_iter:>4} it)  "
                f"{row.points:>+7.1f}  {row.verdict} {'OK' if row.ok else 'MISS'}",
                flush=True,
            )
            if not row.ok:
                print(f"    evidence: {row.evidence}", flush=True)
                if row.next_step:
                    print(f"    next step: {row.next_step}", flush=True)
    ok = all(row.ok for row in rows)
    print(
        f"target: within {MAX_POINTS_BEHIND:g} points of MLPClassifier and the verdict "
        f"{WANTED_VERDICT!r} on all {len(rows)}: {'OK' if ok else 'MISS'}",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
