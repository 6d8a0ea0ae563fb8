"""Default hyperparameters vs the best of an N-trial Ray Tune search at the same epoch budget
per trial, on the Adult data, in one run. The search sees a validation split of the training
file; both final models are scored on the separate Adult test file (never seen by either), so
the gain is not the search fitting its own validation rows.

    python benchmarks/tune_gain.py --model tvae --trials 8 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def quality(model, test: pd.DataFrame) -> float:
    import synth

    fake = model.sample(len(test), seed=0)
    return float(synth.evaluate(test, fake, metadata=model.metadata,
                                metrics=("fidelity",)).scores["quality"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tvae")
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--test-rows", type=int, default=5000)
    args = ap.parse_args()
    os.environ.update(LOCAL_ENV)
    import ray
    import torch

    import synth
    from jobs.tune import TuneJobConfig, run, split

    test = pd.read_csv(ROOT / "data" / "adult_test.csv.gz").head(args.test_rows)
    out: dict = {"machine": f"{platform.node()} {os.cpu_count()} CPUs", "model": args.model,
                 "trials": args.trials, "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TuneJobConfig(data=str(ROOT / "data" / "adult_train.csv.gz"),
                            models=(args.model,), trials=args.trials, max_epochs=args.epochs,
                            report_every=5, storage=f"{tmp}/tune", run_name="gain",
                            name="best", store=f"{tmp}/store", validation_rows=2000,
                            fixed={args.model: {"batch_size": 500}})
        train, _ = split(cfg)
        torch.set_num_threads(os.cpu_count() or 1)
        start = time.perf_counter()
        default = synth.create_synthesizer(args.model, epochs=args.epochs, batch_size=500)
        default.fit(train)
        out["default_s"] = time.perf_counter() - start
        out["default_quality"] = quality(default, test)
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
                 log_to_driver=False)
        start = time.perf_counter()
        result = run(cfg)
        out["search_s"] = time.perf_counter() - start
        best = synth.load_synthesizer("best", store=f"{tmp}/store")
        out["best_config"] = result["best_config"]
        out["best_validation_objective"] = result["best_objective"]
        out["best_quality"] = quality(best, test)
        table = pd.read_csv(f"{tmp}/tune/gain/results.csv")
        out["trial_epochs"] = table["epoch"].tolist()
        ray.shutdown()
    out["gain"] = out["best_quality"] - out["default_quality"]
    (ROOT / "benchmarks" / "tune_gain.json").write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
