"""The evaluate job on a real local Ray: Ray Data streams Parquet/CSV from a moto S3 endpoint,
the merged partial statistics give the in-memory scores, and the report lands on S3."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest

import synth
from jobs import evaluate as job
from synth.data import io

SETTINGS = ["settings.privacy_rows=600", "settings.reference_rows=2000",
            "settings.detection_rows=1000", "settings.joint_rows=200",
            "settings.evaluators=[linear,gradient_boosting]"]


@pytest.fixture(scope="module")
def on_s3(s3_bucket, adult_small, fitted):
    """Real Adult rows (CSV), a copula's synthetic rows as a 3-file Parquet prefix, a holdout."""
    train, holdout = adult_small.iloc[:3000], adult_small.iloc[3000:]
    synthetic = fitted("gaussian_copula").sample(9000, seed=3)
    io.write_table(train, f"{s3_bucket}/eval/real.csv")
    io.write_table(holdout, f"{s3_bucket}/eval/holdout.parquet")
    for i in range(3):
        io.write_table(synthetic.iloc[i * 3000:(i + 1) * 3000],
                       f"{s3_bucket}/eval/synthetic/part-{i}.parquet")
    return {"real": train.reset_index(drop=True), "holdout": holdout.reset_index(drop=True),
            "synthetic": synthetic, "root": f"{s3_bucket}/eval"}


def test_job_streams_s3_and_matches_in_memory_scores(ray_local, on_s3, capsys):
    root = on_s3["root"]
    argv = ["--real", f"{root}/real.csv", "--synthetic", f"{root}/synthetic/",
            "--holdout", f"{root}/holdout.parquet", "--target", "income",
            "--output", f"{root}/report", "batch_rows=1000", *SETTINGS]
    assert job.main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    doc = json.loads(io.read_bytes(f"{root}/report/report.json"))
    assert doc["settings"]["engine"] == "ray.data"
    assert doc["settings"]["rows"] == {"real": 3000, "synthetic": 9000, "holdout": 1000}
    local = synth.evaluate(on_s3["real"], on_s3["synthetic"], metrics=("fidelity",))
    for key in ("column_shapes", "column_pair_trends", "quality", "missing_values"):
        assert doc["scores"][key] == pytest.approx(local.scores[key], abs=1e-12), key
        assert printed["scores"][key] == pytest.approx(local.scores[key], abs=1e-12)
    for key in ("tstr_ratio", "dcr_ratio", "detection_auc", "membership_f1",
                "wasserstein_joint"):
        assert doc["scores"][key] is not None, key

    class Figures(HTMLParser):
        kinds: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "figure":
                self.kinds.append(dict(attrs)["data-figure"])

    page = Figures()
    page.feed(io.read_bytes(f"{root}/report/report.html").decode())
    assert page.kinds.count("column") == 15 and "pair-heatmap" in page.kinds


def test_job_rejects_bad_input_with_one_line(ray_local, on_s3, capsys, tmp_path):
    root, out = on_s3["root"], str(tmp_path / "x")
    base = ["--real", f"{root}/real.csv", "--synthetic", f"{root}/synthetic/",
            "--output", f"{root}/bad"]
    assert job.main([*base, "--target", "salary"]) == 2
    assert "target 'salary' is not a column" in capsys.readouterr().err
    assert job.main([*base[:2], "--synthetic", f"{root}/nothing/", "--output", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert job.main([*base, "settings.metrics=[fidelity,vibes]"]) == 2
    assert "unknown metric group 'vibes'" in capsys.readouterr().err
    io.write_table(on_s3["holdout"].drop(columns=["sex"]), f"{root}/nosex.parquet")
    assert job.main([*base[:2], "--synthetic", f"{root}/nosex.parquet", "--output", out]) == 2
    assert "missing ['sex']" in capsys.readouterr().err


def test_job_in_process_matches(on_s3, tmp_path):
    real = tmp_path / "real.parquet"
    on_s3["real"].to_parquet(real)
    synthetic = tmp_path / "synthetic.csv"
    on_s3["synthetic"].iloc[:2000].to_csv(synthetic, index=False)
    out = tmp_path / "report"
    assert job.main(["--no-ray", "--real", str(real), "--synthetic", str(synthetic),
                     "--output", str(out), "settings.metrics=[fidelity]"]) == 0
    doc = json.loads((out / "report.json").read_text())
    local = synth.evaluate(on_s3["real"], pd.read_csv(synthetic), metrics=("fidelity",))
    assert doc["scores"]["quality"] == pytest.approx(local.scores["quality"], abs=1e-12)


def test_a_csv_whose_types_change_after_the_first_megabyte_reads(ray_local, tmp_path):
    """pyarrow infers CSV types from the first block: a code column that is numbers for its
    first 2 MB and text later failed with ArrowInvalid; the reader now infers from every row."""
    from jobs.ray_data.read import read

    n = 200_000
    codes = [str(i) for i in range(n - 5)] + [f"X{i}" for i in range(5)]
    pd.DataFrame({"code": codes, "v": range(n)}).to_csv(tmp_path / "mixed.csv", index=False)
    ds = read(str(tmp_path / "mixed.csv"))
    assert ds.count() == n and str(ds.schema().types[0]) == "string"
    assert (tmp_path / "mixed.csv").stat().st_size > 2 * (1 << 20)
