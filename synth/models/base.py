"""The tabular synthesizer protocol shared by every model: fit / sample / save / load.

Sampling runs in fixed blocks of BLOCK_ROWS rows; block b draws all of its randomness from a
generator keyed by (seed, b) and runs the network on exactly that block (networks in eval mode),
so the rows for a seed never depend on `batch_size`, on chunking, or on which worker made them.
Conditions the model cannot impose natively are met by rejection: generated rows that miss them
are dropped, never overwritten, so every other column keeps its conditional distribution."""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth.config import build_config, config_to_dict
from synth.data.codecs import IdCodec
from synth.data.metadata import Metadata, check_frame, detect_metadata
from synth.data.transformer import DataTransformer, TransformerOptions
from synth.errors import ConditionError, DataError, ModelLoadError, NotFittedError, SynthError
from synth.models.conditions import Condition, condition_groups, condition_mask, parse_conditions
from synth.models.layout import SpanLayout
from synth.store import json_bytes, load_json, load_npz, npz_bytes, read_model_dir, write_model_dir

BLOCK_ROWS = 2048
DEFAULT_BATCH = 16 * BLOCK_ROWS
MIN_ACCEPTANCE = 1e-3  # below this share of accepted rows, rejection sampling gives up
FORMAT_VERSION = 1


def derive_seed(*words: int) -> int:
    """A 63-bit seed derived from non-negative integers (e.g. seed, stream, block)."""
    state = np.random.SeedSequence([int(w) for w in words]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def block_seed(seed: int, block: int) -> int:
    """The seed of block `block` of a sample drawn with `seed`."""
    return derive_seed(seed, block)


def block_generator(seed: int, block: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(block_seed(seed, block))
    return gen


class Synthesizer(ABC):
    """Base of the tabular models. Subclasses set `name`, `config_cls` and implement
    `_session` (models that train in epochs) or `_fit_model`, and `_plan`, `_block` and the
    weights hooks."""

    name: ClassVar[str]
    config_cls: ClassVar[type]

    def __init__(self, **params: Any) -> None:
        self.config = build_config(self.config_cls, params, where=f"{self.name} model")
        self.transformer: DataTransformer | None = None

    # ----------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame, metadata: dict | Metadata | None = None) -> Synthesizer:
        """Learn the table `data`; metadata is detected when None. Returns self."""
        self.prepare(data, metadata)
        self._fit_model(data)
        return self

    def prepare(self, data: pd.DataFrame, metadata: dict | Metadata | None = None
                ) -> Synthesizer:
        """Fit the transformer only (on all of `data`, or on a bounded sample of a table too big
        for one machine); distributed training then encodes each shard with it."""
        check_frame(data)
        md = detect_metadata(data, metadata)
        if not md.names("numerical", "datetime", "categorical", "boolean"):
            raise DataError("no column to model: every column is an id or free text; declare at "
                            "least one column numerical or categorical in metadata")
        self.transformer = DataTransformer(md, self._transformer_options()).fit(
            data, seed=self.config.seed)
        return self

    def training_session(self, shard: Any, wrap: Any = None, reduce: Any = None,
                         device: torch.device | None = None) -> Any:
        """A synth.models.session.TrainingSession over `shard` (encoded rows); models that
        train in epochs implement `_session`."""
        from synth.models.session import no_reduce, no_wrap

        self._fitted_transformer()
        return self._session(shard, wrap or no_wrap, reduce or no_reduce,
                             device or torch.device("cpu"))

    @classmethod
    def trains_in_epochs(cls) -> bool:
        """Whether the model trains epoch by epoch (and so can train data-parallel)."""
        return cls._session is not Synthesizer._session

    def _session(self, shard: Any, wrap: Any, reduce: Any, device: torch.device) -> Any:
        raise SynthError(f"{self.name} does not train in epochs, so it cannot train "
                         "data-parallel; fit it in one process (num_workers=1)")

    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Rows as the float32 matrix the networks train on."""
        return self._fitted_transformer().transform(data, seed=self.config.seed)

    def _transformer_options(self) -> TransformerOptions:
        keys = TransformerOptions.__dataclass_fields__
        return TransformerOptions(**{k: getattr(self.config, k) for k in keys
                                     if hasattr(self.config, k)})

    def _fit_model(self, data: pd.DataFrame) -> None:
        """For models that train in epochs (they implement `_session`): one session over all
        rows in this process, the same code every Ray Train worker runs on its shard."""
        from synth.models.session import Shard, pick_device, run_epochs

        encoded = self.encode(data)
        session = self.training_session(Shard(encoded, len(encoded)),
                                        device=pick_device(self.config.device))
        self.history = run_epochs(session, self.config.epochs, self.name, self.config.progress)
        session.finish()

    def to_device(self, device: str | torch.device) -> Synthesizer:
        """Run the sampling network on `device` (e.g. "cuda"). Noise is still drawn on the CPU
        from the per-block generators, so a seed gives the same rows; bit for bit on the same
        kind of device (GPU kernels round differently from CPU ones)."""
        self._sample_device = torch.device(device)
        for net in self._networks():
            net.to(self._sample_device)
        return self

    def _networks(self) -> list[torch.nn.Module]:
        """The modules sampling runs (none for models without a network)."""
        return []

    def _run_network(self, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """`net(x)` on the sampling device, returned on the CPU."""
        from synth.models.session import run_on

        return run_on(getattr(self, "_sample_device", None), net, x)

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
    def metadata(self) -> Metadata:
        return self._fitted_transformer().metadata

    def _fitted_transformer(self) -> DataTransformer:
        if self.transformer is None:
            raise NotFittedError(f"this {self.name} model is not fitted; call fit(data) first or "
                                 "load a saved model with synth.load_synthesizer(path)")
        return self.transformer

    # ----------------------------------------------------------------- sample
    def sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
               seed: int | None = None, batch_size: int | None = None, id_offset: int = 0
               ) -> pd.DataFrame:
        """`num_rows` synthetic rows. `conditions`: {column: value or {"min":, "max":}} for all
        rows, or a DataFrame of per-row conditions (one output row per row, same order; null
        cells are unconstrained). `id_offset` numbers id columns from that row on.
        Without a seed there is nothing to reproduce, so a small unconditioned request runs the
        network on the rows asked only, not on a whole block (what serving latency needs)."""
        self._fitted_transformer()  # not fitted: say so before anything else
        n = _check_rows(num_rows)
        if batch_size is not None:
            _check_rows(batch_size, "batch_size")
        if isinstance(conditions, pd.DataFrame):
            if n != len(conditions):
                raise ConditionError(f"num_rows ({n}) must equal the number of rows of the "
                                     f"conditions table ({len(conditions)}): one output row "
                                     "per conditions row")
            return self._sample_table(conditions, seed, batch_size, id_offset)
        conds, seed, rows = self._sampling(n, conditions, seed)
        out = self._sample_rows(n, conds, seed, batch_size or DEFAULT_BATCH, rows)
        return self._fill_ids(out, id_offset)


    def iter_sample(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None = None,
                    seed: int | None = None, chunk_rows: int = DEFAULT_BATCH
                    ) -> Iterator[pd.DataFrame]:
        """`sample` in chunks of at most `chunk_rows` rows, for streaming a large request: the
        chunks concatenated equal `sample(num_rows, conditions, seed)` (ids included)."""
        self._fitted_transformer()  # not fitted: say so before anything else
        n, chunk_rows = _check_rows(num_rows), _check_rows(chunk_rows, "chunk_rows")
        if isinstance(conditions, pd.DataFrame):
            df = self.sample(n, conditions, seed)
            for start in range(0, n, chunk_rows):
                yield df.iloc[start:start + chunk_rows].reset_index(drop=True)
            return
        conds, seed, rows = self._sampling(n, conditions, seed)
        offset = 0
        for part in _rechunk(self._iter_rows(n, conds, seed, chunk_rows, rows), chunk_rows):
            yield self._fill_ids(part, offset)
            offset += len(part)

    def _sampling(self, n: int, conditions: dict[str, Any] | None, seed: int | None
                  ) -> tuple[list[Condition], int, int]:
        """(parsed conditions, the seed, rows per block). Without a seed there is nothing to
        reproduce, so a small unconditioned request runs only its own rows."""
        fresh = seed is None
        seed = secrets.randbits(62) if fresh else _check_seed(seed)
        conds = parse_conditions(conditions, self._fitted_transformer())
        rows = min(BLOCK_ROWS, max(n, 64)) if fresh and not conds else BLOCK_ROWS
        return conds, seed, rows

    def _sample_rows(self, n: int, conds: list[Condition], seed: int, batch_size: int,
                     rows: int = BLOCK_ROWS) -> pd.DataFrame:
        frames = list(self._iter_rows(n, conds, seed, batch_size, rows))
        return pd.concat(frames, ignore_index=True)

    def _iter_rows(self, n: int, conds: list[Condition], seed: int, batch_size: int,
                   rows: int) -> Iterator[pd.DataFrame]:
        """Decoded rows, block group by block group, that meet `conds`: n in all."""
        tr = self._fitted_transformer()
        plan = self._plan(conds)
        per_chunk = max(1, -(-batch_size // rows))
        got, tried, block = 0, 0, 0
        while got < n:
            k = per_chunk if conds else min(per_chunk, -(-(n - got) // rows))
            numeric, null, cats, uniforms = self._generate(seed, block, k, plan, rows)
            df = tr.decode(numeric, null, cats, uniforms)
            block, tried = block + k, tried + len(df)
            if conds:
                df = df[condition_mask(df, conds, tr)]
                _check_acceptance(conds, got + len(df), tried, n)
            df = df.iloc[:n - got].reset_index(drop=True)
            got += len(df)
            yield df

    def _generate(self, seed: int, first: int, k: int, plan: Any, rows: int = BLOCK_ROWS
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Blocks first..first+k-1 (of `rows` rows) in codec space, plus the uniforms that
        decoding draws."""
        tr = self._fitted_transformer()
        parts = []
        with torch.no_grad():
            for b in range(first, first + k):
                gen = block_generator(seed, b)
                numeric, null, cats = self._block(gen, plan, rows)
                uniforms = torch.rand(rows, len(tr.random_columns), generator=gen,
                                      dtype=torch.float64).numpy()
                parts.append((numeric, null, cats, uniforms))
        return tuple(np.concatenate(p, axis=0) for p in zip(*parts, strict=True))  # type: ignore

    def _sample_table(self, table: pd.DataFrame, seed: int | None, batch_size: int | None,
                      id_offset: int) -> pd.DataFrame:
        tr = self._fitted_transformer()
        seed = secrets.randbits(62) if seed is None else _check_seed(seed)
        parts, positions = [], []
        for i, (conds, rows) in enumerate(condition_groups(table, tr)):
            parsed = parse_conditions(conds, tr)
            parts.append(self._sample_rows(len(rows), parsed, derive_seed(seed, 2**32, i),
                                           batch_size or DEFAULT_BATCH))
            positions.append(rows)
        out = pd.concat(parts, ignore_index=True)
        out.index = np.concatenate(positions)
        return self._fill_ids(out.sort_index().reset_index(drop=True), id_offset)

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


def _rechunk(frames: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The same rows in frames of exactly `size` rows (the last one: the rest)."""
    held: list[pd.DataFrame] = []
    count = 0
    for df in frames:
        held.append(df)
        count += len(df)
        while count >= size:
            joined = pd.concat(held, ignore_index=True)
            yield joined.iloc[:size].reset_index(drop=True)
            held, count = [joined.iloc[size:]], count - size
    if count:
        yield pd.concat(held, ignore_index=True)


def _check_rows(num_rows: Any, what: str = "num_rows") -> int:
    if isinstance(num_rows, bool) or not isinstance(num_rows, int | np.integer) or num_rows < 1:
        raise DataError(f"{what} must be a positive integer, got {num_rows!r}")
    return int(num_rows)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_acceptance(conds: list[Condition], got: int, tried: int, n: int) -> None:
    rate = got / tried
    if (tried >= 10 * BLOCK_ROWS and rate < MIN_ACCEPTANCE) or tried >= max(200 * n, 500_000):
        if got >= n:
            return
        names = ", ".join(c.column for c in conds)
        raise ConditionError(
            f"conditions on {names} are met by only {got} of {tried} generated rows "
            f"(acceptance {rate:.2%}); they are too rare for this model to sample. Relax them, "
            "or use gaussian_copula, which samples the conditional distribution directly")
