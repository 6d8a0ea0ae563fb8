"""Write one day of the telemetry spec (2,880 events, about one every 30 s) to telemetry.csv:
the example table a model learns from (with metadata.json: its column kinds and constraints).

    python examples/telemetry/make.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

ROWS = 2880  # one day at one event every 30 s


def make(rows: int = ROWS, seed: int = 0):
    import synth.spec

    df = synth.spec.load(str(HERE / "spec.yaml")).sample(rows, seed=seed)
    return df.drop(columns=["x1", "y1", "w", "h"])  # only there to make `boxes`


if __name__ == "__main__":
    out = HERE / "telemetry.csv"
    make().to_csv(out, index=False)
    print(out)
