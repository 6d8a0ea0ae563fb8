"""Streaming sampling to a prefix on a moto S3 server (or local disk) with a real local Ray:
exact row counts, types, same bytes on a rerun, resume after lost files and after a killed run,
conditions tables (per group with counts, per row), CSV parts, refused mixed runs."""

from __future__ import annotations

import io as pyio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jobs import sample as job
from synth.data import io

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "copula"
    fitted("gaussian_copula").save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def id_model_dir(adult_small, tmp_path_factory):
    """Adult rows with a person id column, so ids must stay unique across part files."""
    import synth

    data = adult_small.assign(person_id=range(100_000, 100_000 + len(adult_small)))
    path = tmp_path_factory.mktemp("model") / "copula-ids"
    synth.create_synthesizer("gaussian_copula").fit(data).save(str(path))
    return str(path)


def _parts(prefix: str) -> dict[str, bytes]:
    return {n: io.read_bytes(f"{prefix}/{n}") for n in io.list_dir(prefix)
            if n.startswith("part-")}


def test_prefix_on_s3_is_exact_typed_deterministic_and_resumable(ray_local, s3_bucket,
                                                                  model_dir, adult_small):
    out = f"{s3_bucket}/synthetic/adult"
    argv = ["--model", model_dir, "--rows", "2500", "--output", out, "--rows-per-file",
            "1000", "--seed", "7", "--conditions", '{"sex": "Female"}']
    assert job.main(argv) == 0
    names = io.list_dir(out)
    assert names == ["_manifest.json", "_run.json", "part-000000.parquet",
                     "part-000001.parquet", "part-000002.parquet"]
    manifest = json.loads(io.read_bytes(f"{out}/_manifest.json"))
    assert manifest["rows"] == 2500 and [f["rows"] for f in manifest["files"]] == [1000] * 2 + [500]
    fs, path = io.filesystem(out)
    table = pq.read_table(path, filesystem=fs)
    df = table.to_pandas()
    assert len(df) == 2500 and (df["sex"] == "Female").all()
    assert list(df.columns) == list(adult_small.columns)
    assert str(table.schema.field("age").type) == "int64"
    assert str(table.schema.field("sex").type) == "string"
    assert df.duplicated().sum() < 25  # not the same rows file after file
    first = _parts(out)
    assert job.main(argv) == 0  # rerun: nothing to write, same bytes
    assert _parts(out) == first
    for name in ("part-000001.parquet", "_manifest.json"):  # a crash lost a file
        fs.delete_file(f"{path}/{name}")
    assert job.main(argv) == 0
    assert _parts(out) == first and len(pd.read_parquet(path, filesystem=fs)) == 2500


def test_a_different_run_is_refused_unless_overwritten(ray_local, s3_bucket, model_dir, capsys):
    out = f"{s3_bucket}/synthetic/other"
    base = ["--model", model_dir, "--output", out, "--rows-per-file", "500"]
    assert job.main([*base, "--rows", "1000"]) == 0
    assert job.main([*base, "--rows", "1200"]) == 2
    assert "holds another run (different rows)" in capsys.readouterr().err
    assert job.main([*base, "--rows", "1200", "--overwrite"]) == 0
    assert json.loads(io.read_bytes(f"{out}/_manifest.json"))["rows"] == 1200
    assert len(io.list_dir(out)) == 2 + 3


@pytest.mark.parametrize("args, message", [
    (["--rows", "0"], "rows must be >= 1"),
    (["--rows", "10", "--conditions", '{"planet": "Mars"}'], "planet"),
    (["--rows", "10", "--output", "s3://no-such-bucket/x"], "cannot write to"),
    (["--rows", "10", "--format", "orc"], "format must be one of parquet, csv, jsonl"),
    (["--rows", "10", "--conditions", '{"sex": "Martian"}'], "never occurs"),
])
def test_bad_input_fails_before_any_compute(ray_local, s3_bucket, model_dir, capsys, args,
                                            message):
    argv = ["--model", model_dir, "--output", f"{s3_bucket}/bad", *args]
    if "--output" in args:
        argv = ["--model", model_dir, *args]
    assert job.main(argv) == 2
    assert message in capsys.readouterr().err


def test_conditions_table_with_counts_gives_exact_groups(ray_local, s3_bucket, id_model_dir):
    """A class balance: weights 1:3 for income, one group also fixed on sex; --rows scales."""
    table = f"{s3_bucket}/conditions/balance.csv"
    io.write_bytes(table, b"income,sex,count\n>50K,,1\n<=50K,Female,3\n")
    out = f"{s3_bucket}/synthetic/balanced"
    argv = ["--model", id_model_dir, "--rows", "2000", "--output", out, "--rows-per-file", "600",
            "--conditions", table, "--seed", "3"]
    assert job.main(argv) == 0
    manifest = json.loads(io.read_bytes(f"{out}/_manifest.json"))
    assert [f["rows"] for f in manifest["files"]] == [500, 600, 600, 300]
    fs, path = io.filesystem(out)
    parts = [pd.read_parquet(f"{path}/{f['name']}", filesystem=fs) for f in manifest["files"]]
    assert (parts[0]["income"] == ">50K").all()
    rest = pd.concat(parts[1:])
    assert ((rest["income"] == "<=50K") & (rest["sex"] == "Female")).all()
    df = pq.read_table(path, filesystem=fs).to_pandas()  # the whole prefix, by pyarrow
    assert len(df) == 2000 and df["person_id"].is_unique
    assert sorted(df["person_id"]) == list(range(100_000, 102_000))
    assert manifest["schema"]["person_id"] == "int64" and manifest["schema"]["sex"] == "string"
    assert job.main([*argv[:-2], "--seed", "4"]) == 2  # another seed: another run, refused


def test_per_row_conditions_to_csv_parts(ray_local, s3_bucket, model_dir, adult_small):
    cond = adult_small[["sex", "race"]].head(1100).reset_index(drop=True)
    table = f"{s3_bucket}/conditions/rows.parquet"
    io.write_bytes(table, _parquet_bytes(cond))
    out = f"{s3_bucket}/synthetic/per-row-csv"
    argv = ["--model", model_dir, "--output", out, "--rows-per-file", "400",
            "--conditions", table, "--format", "csv"]
    assert job.main(argv) == 0
    names = [n for n in io.list_dir(out) if n.startswith("part-")]
    assert names == ["part-000000.csv", "part-000001.csv", "part-000002.csv"]
    df = pd.concat([pd.read_csv(pyio.BytesIO(io.read_bytes(f"{out}/{n}"))) for n in names],
                   ignore_index=True)
    assert len(df) == 1100
    assert (df[["sex", "race"]].to_numpy() == cond.to_numpy()).all()  # row r meets row r
    assert list(df.columns) == list(adult_small.columns)
    first = _parts(out)
    assert job.main(argv) == 0 and _parts(out) == first  # CSV parts counted on a rerun


def test_a_killed_run_resumes_to_exactly_n_rows(ray_local, id_model_dir, tmp_path):
    """SIGKILL the job (driver and its Ray) while it writes, then rerun: only missing parts are
    written, the prefix holds exactly N rows, every id once, no temporary files left."""
    out = tmp_path / "killed"
    argv = ["--model", id_model_dir, "--rows", "120000", "--output", str(out),
            "--rows-per-file", "500", "--seed", "11"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jobs.sample", *argv, "concurrency=1"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, "the job ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    written = len(list(out.glob("part-*.parquet")))
    assert 3 <= written < 240 and not (out / "_manifest.json").exists()
    assert job.main(argv) == 0
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["rows"] == 120000 and len(manifest["files"]) == 240
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    df = pd.read_parquet(out)  # pandas reads the prefix
    assert len(df) == 120000 and df["person_id"].is_unique


@pytest.mark.parametrize("conditions", [None, '{"sex": "Female"}', "counts"])
def test_one_seed_gives_the_same_rows_in_every_output(ray_local, id_model_dir, tmp_path,
                                                      conditions):
    """The seeding rule: in-process `sample`, `--output x.parquet` and `--output prefix/` with
    any --rows-per-file and concurrency hold the same rows (ids included), across a segment
    boundary of the stream."""
    import synth
    from synth.data.arrow import to_arrow

    n, seed = 70_000, 13
    args = ["--model", id_model_dir, "--rows", str(n), "--seed", str(seed)]
    model = synth.load_synthesizer(id_model_dir)
    if conditions == "counts":  # two groups, each its own stream
        table = tmp_path / "counts.csv"
        table.write_text("sex,count\nFemale,1\nMale,2\n")
        args += ["--conditions", str(table)]
    elif conditions:
        args += ["--conditions", conditions]
        expected = model.sample(n, conditions=json.loads(conditions), seed=seed)
    else:
        expected = model.sample(n, seed=seed)
    one = tmp_path / "one.parquet"
    assert job.main([*args, "--output", str(one), "--no-ray"]) == 0
    reference = pd.read_parquet(one)
    if conditions != "counts":
        typed = to_arrow(expected, model.transformer).to_pandas()
        pd.testing.assert_frame_equal(reference, typed)
    # two layouts without conditions; one for each conditional stream (the split rule is the
    # same for every stream, and each layout's actors are fresh processes: ~10 s here)
    layouts = ((30_000, 2), (6_500, 3)) if conditions is None else ((6_500, 3),)
    for rows_per_file, concurrency in layouts:
        out = tmp_path / f"prefix-{rows_per_file}"
        assert job.main([*args, "--output", str(out), "--rows-per-file", str(rows_per_file),
                         f"concurrency={concurrency}"]) == 0
        names = json.loads((out / "_manifest.json").read_text())["files"]
        df = pd.concat([pd.read_parquet(out / f["name"]) for f in names], ignore_index=True)
        pd.testing.assert_frame_equal(df, reference)
    assert reference["person_id"].is_unique


def test_a_prefix_of_an_older_sampler_is_not_resumed(ray_local, model_dir, tmp_path, capsys):
    out = tmp_path / "old"
    argv = ["--model", model_dir, "--rows", "1000", "--output", str(out), "--rows-per-file",
            "400"]
    assert job.main(argv) == 0
    run = json.loads((out / "_run.json").read_text())
    run.pop("sampler")  # as sampler version 1 wrote it
    (out / "_run.json").write_text(json.dumps(run))
    (out / "part-000002.parquet").unlink()
    assert job.main(argv) == 2
    assert "sampler version 1" in capsys.readouterr().err
    assert not (out / "part-000002.parquet").exists()  # nothing mixed in (--overwrite: above)


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = pyio.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_a_model_retrained_in_place_does_not_complete_the_old_run(ray_local, fitted,
                                                                  adult_small, tmp_path,
                                                                  capsys):
    """The rerun checks the model's content (a digest in _run.json), not only its path: a
    model retrained into the same directory would otherwise mix two models in one data set."""
    import synth

    model_dir, out = tmp_path / "model", tmp_path / "out"
    fitted("gaussian_copula").save(str(model_dir))
    argv = ["--model", str(model_dir), "--rows", "1000", "--output", str(out),
            "--rows-per-file", "400"]
    assert job.main(argv) == 0
    (out / "part-000002.parquet").unlink()
    retrained = synth.create_synthesizer("gaussian_copula", seed=3)
    retrained.fit(adult_small.sample(frac=0.5, random_state=3)).save(str(model_dir))
    assert job.main(argv) == 2
    assert "another model" in capsys.readouterr().err
    assert not (out / "part-000002.parquet").exists()  # nothing mixed in (--overwrite: above)


def test_a_spec_streams_json_lines_and_parquet_to_s3(ray_local, s3_bucket, tmp_path):
    """A spec (no training) registered in a store streams 100,000 rows as JSON lines, and
    Parquet parts with the schema the spec fixes, each the rows one in-process call gives."""
    import synth.spec
    from synth.store import ModelStore

    spec = synth.spec.load(str(Path(__file__).resolve().parents[2] / "examples" / "telemetry"
                               / "spec.yaml"))
    store = str(tmp_path / "store")
    ModelStore(store).add_version("telemetry", spec.save)
    out = f"{s3_bucket}/telemetry/jsonl"
    assert job.main(["--model", "telemetry", "--store", store, "--rows", "100000", "--output",
                     out, "--rows-per-file", "25000", "--seed", "3", "--format", "jsonl"]) == 0
    parts = _parts(out)
    assert sorted(parts) == [f"part-{i:06d}.jsonl" for i in range(4)]
    lines = b"".join(parts[n] for n in sorted(parts)).decode().splitlines()
    assert len(lines) == 100_000
    expected = spec.sample(3, seed=3, start=50_000)
    got = [json.loads(x) for x in lines[50_000:50_003]]
    assert [g["device"] for g in got] == expected.device.tolist()
    assert [g["boxes"] for g in got] == expected.boxes.tolist()
    assert [pd.Timestamp(g["ts"]) for g in got] == expected.ts.tolist()
    pq_out = f"{s3_bucket}/telemetry/parquet"
    assert job.main(["--model", "telemetry", "--store", store, "--rows", "3000", "--output",
                     pq_out, "--rows-per-file", "1000", "--seed", "3"]) == 0
    fs, path = io.filesystem(pq_out)
    table = pq.read_table(path, filesystem=fs)
    expected = spec.arrow_schema()  # Parquet stores second timestamps as milliseconds
    assert table.schema.names == expected.names and table.num_rows == 3000
    assert all(a.type == b.type or (str(a.type).startswith("timestamp") and a.type.tz == b.type.tz)
               for a, b in zip(table.schema, expected, strict=True))
