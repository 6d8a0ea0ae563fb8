"""The tabular synthesizer protocol shared by every table model: fit / sample / save / load.

Sampling follows synth.models.seeding: rows come in blocks of BLOCK_ROWS rows, block b of
segment s draws all of its randomness from a generator keyed by (seed, s, b) and runs the network
on exactly that block (networks in eval mode), so the rows for a seed never depend on
`batch_size`, on chunking, on files or on which worker made them. Conditions the model cannot
impose natively are met by rejection: generated rows that miss them are dropped, never
overwritten, so every other column keeps its conditional distribution. Rejection costs at most
1/MIN_ACCEPTANCE generated rows per row asked (beyond one block): a condition rarer than that
is an error naming it, never an unbounded loop. Per-row conditions run each group of equal
conditions in blocks of GROUP_BLOCK_ROWS rows, so a group's work follows its own row count.
Every block checks the active time budget (synth.budget)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from synth.budget import check_budget
from synth.config import config_to_dict
from synth.data.arrow import arrow_schema, to_arrow
from synth.data.codecs import IdCodec
from synth.data.constraints import ConstraintSet
from synth.data.metadata import Metadata, check_frame, detect_metadata
from synth.data.retime import apply_shift, parse_shift
from synth.data.schema import TableSchema
from synth.data.transformer import DataTransformer, TransformerOptions
from synth.errors import ConditionError, DataError, ModelLoadError, NotFittedError, SynthError
from synth.models.conditions import Condition, condition_groups, condition_mask, parse_conditions
from synth.models.layout import SpanLayout
from synth.models.protocol import SynthModel
from synth.models.rejection import (
    blocks_next,
    check_acceptance,
    rechunk,
    rejection_budget,
)
from synth.models.seeding import (
    SEGMENT_ROWS,
    block_generator,
    check_rows,
    check_start,
    group_seed,
    resolve_seed,
)
from synth.models.session import Shard, pick_device
from synth.store import (
    json_bytes,
    load_json,
    load_npz,
    load_torch,
    npz_bytes,
    read_model_dir,
    read_optional,
    torch_bytes,
    write_model_dir,
)

BLOCK_ROWS = 2048
DEFAULT_BATCH = 16 * BLOCK_ROWS
GROUP_BLOCK_ROWS = 256  # rows per block of a per-row conditions group's stream
FORMAT_VERSION = 1


class Synthesizer(SynthModel):
    """Base of the tabular models. Subclasses set `name`, `config_cls` and implement
    `_session` (models that train in epochs) or `_fit_model`, and `_plan`, `_block` and the
    weights hooks."""

    kind: ClassVar[str] = "table"
    mode_normalize: ClassVar[bool] = True  # False: the transformer is codecs only (no GMM)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.transformer: DataTransformer | None = None
        self.constraints: ConstraintSet | None = None  # the user's table <-> the model's
        self.rejected_rows = 0  # rows the last `sample` generated and dropped (conditions)
        self.privacy: dict[str, Any] | None = None  # differential privacy spent (privacy.json)

    # ----------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame, metadata: dict | Metadata | None = None) -> Synthesizer:
        """Learn the table `data`; metadata is detected when None (its `constraints`: see
        synth.data.constraints). Returns self."""
        self._fit_model(self._prepare(data, metadata))
        return self

    def prepare(self, data: pd.DataFrame, metadata: dict | Metadata | None = None
                ) -> Synthesizer:
        """Fit the transformer only (on all of `data`, or on a bounded sample of a table too big
        for one machine); distributed training then encodes each shard with it."""
        self._prepare(data, metadata)
        return self

    def _prepare(self, data: pd.DataFrame, metadata: dict | Metadata | None) -> pd.DataFrame:
        """Check the rows against the declared constraints, fit the transformer on the model
        table; returns the model table."""
        check_frame(data)
        md = detect_metadata(data, metadata)
        found = self._detected_constraints(data, md)
        if found:
            md = Metadata(md.columns, [*md.constraints, *found])
        if not md.names("numerical", "datetime", "categorical", "boolean"):
            raise DataError("no column to model: every column is an id or free text; declare at "
                            "least one column numerical or categorical in metadata")
        constraints = ConstraintSet(md)
        rows = constraints.fit(data)
        self.transformer = DataTransformer(constraints.model_metadata(md),
                                           self._transformer_options()).fit(
            rows, seed=self.config.seed)
        self.constraints = constraints
        return rows

    def _detected_constraints(self, data: pd.DataFrame, md: Metadata) -> list[dict[str, Any]]:
        """Constraints a family finds in the training rows and keeps beside the declared ones
        (argn: orders between numeric columns); none by default."""
        return []

    @property
    def prepared(self) -> bool:
        return self.transformer is not None

    def worker_state(self) -> dict[str, Any]:
        return {"transformer": self._fitted_transformer().state(),
                "constraints": self._constraint_set().state()}

    def _install_worker_state(self, state: dict[str, Any]) -> None:
        self.transformer = DataTransformer.from_state(*state["transformer"])
        self.constraints = ConstraintSet.from_state(state["constraints"])

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """User rows (a shard) as what the networks train on: checked against the constraints
        and rewritten into the model table first."""
        return self._encode(self._constraint_set().to_model(data))

    def _encode(self, data: pd.DataFrame) -> np.ndarray:
        """Model-table rows as the float32 matrix the networks train on."""
        return self._fitted_transformer().transform(data, seed=self.config.seed)

    def _transformer_options(self) -> TransformerOptions:
        keys = set(TransformerOptions.__dataclass_fields__) - {"mode_normalize"}
        return TransformerOptions(mode_normalize=self.mode_normalize,
                                  **{k: getattr(self.config, k) for k in keys
                                     if hasattr(self.config, k)})

    def _fit_model(self, data: pd.DataFrame) -> None:
        """For models that train in epochs (they implement `_session`): the loop over all rows
        in this process, the same code every Ray Train worker runs on its shard."""
        encoded = self._encode(data)
        self.train_in_process(Shard(encoded, len(encoded), device=pick_device(self.config.device)))

    def span_layout(self) -> SpanLayout:
        """Index tensors of the transformer's output spec (built once per fitted model)."""
        tr = self._fitted_transformer()
        if getattr(self, "_layout_for", None) is not tr:
            self._layout, self._layout_for = SpanLayout(tr.spans), tr
        return self._layout

    @property
    def fitted(self) -> bool:
        return self.transformer is not None

    @property
    def columns(self) -> list[str]:
        return list(self._constraint_set().md.columns)

    @property
    def metadata(self) -> Metadata:
        """The user's metadata (kinds and declared constraints)."""
        return self._constraint_set().md

    @property
    def schema(self) -> TableSchema:
        """The user's columns with their codecs (synth.data.schema)."""
        return self._constraint_set().schema(self._fitted_transformer())

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of every table `to_arrow` makes (synth.data.arrow)."""
        return arrow_schema(self.schema)

    def to_arrow(self, df: pd.DataFrame) -> pa.Table:
        """Generated rows as a typed Arrow table (Parquet parts, HTTP parquet bodies)."""
        return to_arrow(df, self.schema)

    def _constraint_set(self) -> ConstraintSet:
        tr = self._fitted_transformer()
        if self.constraints is None:  # a model saved before constraints existed
            self.constraints = ConstraintSet(tr.metadata)
        return self.constraints

    def _fitted_transformer(self) -> DataTransformer:
        if self.transformer is None:
            raise NotFittedError(f"this {self.name} model is not fitted; call fit(data) first or "
                                 "load a saved model with synth.load_synthesizer(path)")
        return self.transformer

    # ----------------------------------------------------------------- conditions
    def check_conditions(self, conditions: dict[str, Any] | pd.DataFrame | None,
                         num_rows: int | None = None) -> None:
        tr = self.schema
        if isinstance(conditions, pd.DataFrame):
            if num_rows is not None and num_rows != len(conditions):
                raise ConditionError(f"num_rows ({num_rows}) must equal the number of rows of "
                                     f"the conditions table ({len(conditions)}): one output row "
                                     "per conditions row")
            for conds, _ in condition_groups(conditions, tr):
                parse_conditions(conds, tr)
            return
        parse_conditions(conditions, tr)

    # ----------------------------------------------------------------- sample
    def sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
               seed: int | None = None, batch_size: int | None = None, id_offset: int = 0,
               start: int = 0, retime: dict[str, Any] | None = None,
               stamp: str | dict[str, Any] | None = None) -> pd.DataFrame:
        """`num_rows` synthetic rows. `conditions`: {column: value or {"min":, "max":}} for all
        rows, or a DataFrame of per-row conditions (one output row per row, same order; null
        cells are unconstrained). `start`: the rows start..start+num_rows of what
        `sample(start + num_rows, conditions, seed)` returns (a conditions table then has
        start + num_rows rows); id columns number from `id_offset + start`. `retime` moves the
        datetimes to a new day/week/month, `stamp="now"` to the current time (synth.data.retime).
        Without a seed there is nothing to reproduce, so a small unconditioned request runs the
        network on the rows asked only, not on a whole block (what serving latency needs)."""
        self._fitted_transformer()  # not fitted: say so before anything else
        n, start = check_rows(num_rows), check_start(start)
        shift = parse_shift(retime, stamp, self.schema)
        self.rejected_rows = 0
        if batch_size is not None:
            check_rows(batch_size, "batch_size")
        batch = batch_size or DEFAULT_BATCH
        if isinstance(conditions, pd.DataFrame):
            self.check_conditions(conditions, start + n)
            out = self._sample_table(conditions, resolve_seed(seed), start, n, batch)
        else:
            conds, seed, rows = self._sampling(n, conditions, seed)
            out = pd.concat(list(self._stream(conds, seed, start, n, batch, rows)),
                            ignore_index=True)
        out = self._fill_ids(out, id_offset + start)
        return apply_shift(out, shift, self.schema) if shift else out

    def iter_sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
                    seed: int | None = None, chunk_rows: int = DEFAULT_BATCH,
                    retime: dict[str, Any] | None = None,
                    stamp: str | dict[str, Any] | None = None) -> Iterator[pd.DataFrame]:
        """`sample` in chunks of at most `chunk_rows` rows, for streaming a large request: the
        chunks concatenated equal `sample(num_rows, conditions, seed)` (ids included)."""
        self._fitted_transformer()  # not fitted: say so before anything else
        n, chunk_rows = check_rows(num_rows), check_rows(chunk_rows, "chunk_rows")
        shift = parse_shift(retime, stamp, self.schema)
        self.rejected_rows = 0
        if isinstance(conditions, pd.DataFrame):
            df = self.sample(n, conditions, seed, retime=retime, stamp=stamp)
            for start in range(0, n, chunk_rows):
                yield df.iloc[start:start + chunk_rows].reset_index(drop=True)
            return
        conds, seed, rows = self._sampling(n, conditions, seed)
        offset = 0
        for part in rechunk(self._stream(conds, seed, 0, n, chunk_rows, rows), chunk_rows):
            part = self._fill_ids(part, offset)
            yield apply_shift(part, shift, self.schema) if shift else part
            offset += len(part)

    def _sampling(self, n: int, conditions: dict[str, Any] | None, seed: int | None
                  ) -> tuple[list[Condition], int, int]:
        """(parsed conditions, the seed, rows per block). Without a seed there is nothing to
        reproduce, so a small unconditioned request runs only its own rows."""
        fresh = seed is None
        seed = resolve_seed(seed)
        conds = parse_conditions(conditions, self.schema)
        filtering = bool(conds) or self._constraint_set().filters
        rows = min(BLOCK_ROWS, max(n, 64)) if fresh and not filtering else BLOCK_ROWS
        return conds, seed, rows

    def _stream(self, conds: list[Condition], seed: int, start: int, n: int, batch_size: int,
                rows: int = BLOCK_ROWS) -> Iterator[pd.DataFrame]:
        """Rows start..start+n of the stream of `seed` (synth.models.seeding), segment by
        segment."""
        pos, end = start, start + n
        while pos < end:
            segment, lo = divmod(pos, SEGMENT_ROWS)
            hi = min(SEGMENT_ROWS, lo + end - pos)
            yield from self._segment(conds, seed, segment, lo, hi, batch_size, rows)
            pos += hi - lo

    def _segment(self, conds: list[Condition], seed: int, segment: int, lo: int, hi: int,
                 batch_size: int, rows: int) -> Iterator[pd.DataFrame]:
        """Rows lo..hi of one segment: its blocks in order, rows that miss `conds` (or a
        constraint that filters) dropped. Constraints rewrite decoded rows into the user's."""
        tr, cs, schema = self._fitted_transformer(), self._constraint_set(), self.schema
        plan = self._plan([c for c in conds if c.column not in cs.replaced])  # native ones
        filtering = bool(conds) or cs.filters
        per_chunk = max(1, -(-batch_size // rows))
        block, skip = (0, lo) if filtering else divmod(lo, rows)  # first block, rows to drop
        want, accepted, tried = hi - lo, 0, 0
        while want > 0:  # blocks are kept in order, so k (how many per network call) is
            #             free: enough for the rows still wanted at the acceptance seen so
            #             far, doubling while nothing was accepted, within the rejection budget
            k = blocks_next(skip + want, accepted, tried, rows, per_chunk,
                             rejection_budget(hi, rows) if filtering else None)
            numeric, null, cats, uniforms = self._generate(seed, segment, block, k, plan, rows)
            df = cs.reverse(tr.decode(numeric, null, cats, uniforms))
            block, tried = block + k, tried + len(df)
            if filtering:
                generated = len(df)
                keep = condition_mask(df, conds, schema)
                df = df[keep & cs.valid(df) if cs.filters else keep]
                self.rejected_rows += generated - len(df)
                check_acceptance(conds, accepted + len(df), tried, hi, rows, cs)
            accepted += len(df)
            dropped = min(skip, len(df))
            df = df.iloc[dropped:dropped + want].reset_index(drop=True)
            skip -= dropped
            want -= len(df)
            if len(df):
                yield df

    def _generate(self, seed: int, segment: int, first: int, k: int, plan: Any,
                  rows: int = BLOCK_ROWS
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Blocks first..first+k-1 (of `rows` rows) of a segment in codec space, plus the
        uniforms that decoding draws."""
        tr = self._fitted_transformer()
        parts = []
        with torch.no_grad():
            for b in range(first, first + k):
                check_budget()
                gen = block_generator(seed, b, segment)
                numeric, null, cats = self._block(gen, plan, rows)
                uniforms = torch.rand(rows, len(tr.random_columns), generator=gen,
                                      dtype=torch.float64).numpy()
                parts.append((numeric, null, cats, uniforms))
        return tuple(np.concatenate(p, axis=0) for p in zip(*parts, strict=True))  # type: ignore

    def _sample_table(self, table: pd.DataFrame, seed: int, start: int, n: int,
                      batch_size: int) -> pd.DataFrame:
        """Per-row conditions, rows start..start+n: the table is read in windows of
        SEGMENT_ROWS rows; within a window, the rows with equal conditions form a group whose
        stream is keyed by (seed, window, the conditions), and a group's k-th row is its
        stream's k-th row, so any slice of the output is reproduced by any call."""
        tr = self.schema
        end = start + n
        parts, positions = [], []
        for first in range(start - start % SEGMENT_ROWS, end, SEGMENT_ROWS):
            window = table.iloc[first:min(first + SEGMENT_ROWS, end)]
            for conds, rows in condition_groups(window, tr):
                absolute = rows + first
                keep = absolute >= start
                if not keep.any():
                    continue
                key = group_seed(seed, first // SEGMENT_ROWS, conds)
                skip = int((~keep).sum())  # rows are in table order: the kept ones are last
                frames = self._stream(parse_conditions(conds, tr), key, skip, int(keep.sum()),
                                      batch_size, GROUP_BLOCK_ROWS)
                parts.append(pd.concat(list(frames), ignore_index=True))
                positions.append(absolute[keep])
        out = pd.concat(parts, ignore_index=True)
        out.index = np.concatenate(positions)
        return out.sort_index().reset_index(drop=True)

    def _fill_ids(self, df: pd.DataFrame, id_offset: int) -> pd.DataFrame:
        for name, codec in self._fitted_transformer().codecs.items():
            if isinstance(codec, IdCodec):
                df[name] = codec.generate(int(id_offset), len(df)).to_numpy()
        return df

    @abstractmethod
    def _plan(self, conds: list[Condition]) -> Any:
        """What the model imposes natively for these conditions (the rest is rejection)."""

    @abstractmethod
    def _block(self, gen: torch.Generator, plan: Any, rows: int = BLOCK_ROWS
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One block of `rows` rows (BLOCK_ROWS whenever a seed is to be reproduced):
        (numeric floats, numeric null flags, category codes)."""

    # ----------------------------------------------------------------- save / load
    def save(self, path: str, extra: dict[str, bytes] | None = None) -> str:
        """Write the model directory (local path or s3://) and return its path. `extra` files
        (e.g. training.json with metrics and provenance) go in before the _COMPLETE marker."""
        tr = self._fitted_transformer()
        doc, arrays = tr.state()
        files = {
            "config.json": json_bytes({"synthesizer": self.name, "format": FORMAT_VERSION,
                                       "params": config_to_dict(self.config)}),
            "transformer.json": json_bytes(doc),
            "transformer.npz": npz_bytes(arrays),
            **self._weight_files(),
            **(extra or {}),
        }
        if self._constraint_set():
            files["constraints.json"] = json_bytes(self._constraint_set().state())
        if self.privacy is not None:
            files["privacy.json"] = json_bytes(self.privacy)
        write_model_dir(str(path), files)
        return str(path)

    @classmethod
    def load(cls, path: str) -> Synthesizer:
        files = read_model_dir(str(path), ["config.json", "transformer.json", "transformer.npz",
                                           *cls.weight_file_names])
        doc = load_json(files["config.json"], f"{path}/config.json")
        try:
            model = cls(**doc.get("params", {}))
            model.transformer = DataTransformer.from_state(
                load_json(files["transformer.json"], f"{path}/transformer.json"),
                load_npz(files["transformer.npz"], f"{path}/transformer.npz"))
            model._load_weights(files, str(path))
            privacy = read_optional(str(path), "privacy.json")
            if privacy is not None:
                model.privacy = load_json(privacy, f"{path}/privacy.json")
            constraints = read_optional(str(path), "constraints.json")
            if constraints is not None:
                model.constraints = ConstraintSet.from_state(
                    load_json(constraints, f"{path}/constraints.json"))
        except ModelLoadError:
            raise
        except (SynthError, KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
            # a file that parses but does not describe this model (missing keys, shapes that
            # do not match the weights, foreign parameters): corrupt, whatever the detail
            raise ModelLoadError(f"{path!r} is not a consistent {cls.name} model directory "
                                 f"({type(exc).__name__}: {str(exc)[:200]}); save or train it "
                                 "again") from None
        return model

    weight_file_names: ClassVar[list[str]] = []

    @abstractmethod
    def _weight_files(self) -> dict[str, bytes]: ...

    @abstractmethod
    def _load_weights(self, files: dict[str, bytes], path: str) -> None: ...


class OneNetworkSynthesizer(Synthesizer):
    """A table model whose sampling runs one network (`network`, from `new_network()`),
    saved as weights.pt {"network": state dict} (argn, binary_diffusion, potnet)."""

    weight_file_names: ClassVar[list[str]] = ["weights.pt"]

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.network: torch.nn.Module | None = None

    @abstractmethod
    def new_network(self) -> torch.nn.Module:
        """An untrained network for this prepared model."""

    def _networks(self) -> list[torch.nn.Module]:
        return [self._network()]

    def _network(self) -> Any:
        if self.network is None:
            raise NotFittedError(f"this {self.name} model is not fitted; call fit(data) first or "
                                 "load a saved model with synth.load_synthesizer(path)")
        return self.network

    def _weight_files(self) -> dict[str, bytes]:
        return {"weights.pt": torch_bytes({"network": self._network().state_dict()})}

    def _network_state(self, files: dict[str, bytes], path: str) -> dict[str, Any]:
        return load_torch(files["weights.pt"], f"{path}/weights.pt")["network"]

    def _load_weights(self, files: dict[str, bytes], path: str) -> None:
        state = self._network_state(files, path)  # first: it may load what the network needs
        net = self.new_network()
        net.load_state_dict(state)
        self.network = net.eval()
