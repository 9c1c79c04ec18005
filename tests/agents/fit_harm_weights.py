"""Fit the harm detector's logistic-regression weights on the *train* prompts only.

    PYTHONPATH=.:agents python -m tests.agents.fit_harm_weights          # print WEIGHTS
    PYTHONPATH=.:agents python -m tests.agents.fit_harm_weights --report # and the train errors

Paste the printed block into ``agents/agentkit/harm.py``. The held-out file is never read here;
``test_harm_detection.py`` evaluates the shipped weights on it. The fit is deterministic (batch
gradient descent from zero, fixed steps, L2 penalty on everything but the bias), so re-running
this script reproduces the shipped weights; a test checks that.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "agents" / "agentkit" / "data" / "harm_train.jsonl"  # ships with the agents
if str(ROOT / "agents") not in sys.path:
    sys.path.insert(0, str(ROOT / "agents"))

from agentkit.harm import FEATURES, HarmDetector  # noqa: E402
from agentkit.offline import get_embedder  # noqa: E402

L2 = 0.01  # on standardised features; chosen by leave-one-out accuracy on the train file
STEPS = 4000
RATE = 0.5


def load_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def feature_matrix(detector: HarmDetector, prompts: list[str]) -> Any:
    import numpy as np

    rows = []
    for prompt in prompts:
        features, _ = detector.features(prompt)
        rows.append([features[name] for name in FEATURES])
    return np.asarray(rows, dtype=np.float64)


def fit(x: Any, y: Any, l2: float = L2) -> dict[str, float]:
    """L2-regularised logistic regression by batch gradient descent (deterministic).

    The features are standardised for the fit (so the penalty treats the 0/1 cues and the
    cosine difference alike) and the weights are converted back to raw feature units.
    """
    import numpy as np

    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    xb = np.hstack([np.ones((len(x), 1)), (x - mean) / sd])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) / len(y) + penalty * w
        w -= RATE * grad
    raw = w[1:] / sd
    bias = float(w[0] - (raw * mean).sum())
    return {"bias": bias, **{name: float(v) for name, v in zip(FEATURES, raw, strict=True)}}


def fit_train(
    detector: HarmDetector | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """(weights, neutral values of the embedding features) fitted on the train file."""
    import numpy as np

    rows = load_rows(TRAIN)
    detector = detector or HarmDetector(get_embedder)
    x = feature_matrix(detector, [r["prompt"] for r in rows])
    y = np.asarray([1.0 if r["harmful"] else 0.0 for r in rows])
    weights = fit(x, y)
    neutral = {
        name: float(x[:, FEATURES.index(name)].mean()) for name in ("semantic", "neighbours")
    }
    return weights, neutral


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="list the train prompts missed")
    args = parser.parse_args(argv)
    detector = HarmDetector(get_embedder)
    weights, neutral = fit_train(detector)
    print("WEIGHTS: dict[str, float] = {")
    for name, value in weights.items():
        print(f'    "{name}": {value:.3f},')
    print("}")
    for name, value in neutral.items():
        print(f"{name.upper()}_NEUTRAL = {value:.3f}")
    if args.report:
        scorer = HarmDetector(get_embedder, weights={k: round(v, 3) for k, v in weights.items()})
        for r in load_rows(TRAIN):
            a = scorer.assess(r["prompt"])
            if a.harmful != r["harmful"]:
                print(f"WRONG {r['harmful']!s:5} {a.score:+.2f} {r['prompt']}  {a.features}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
