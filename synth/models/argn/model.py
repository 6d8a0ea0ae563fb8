"""`argn`: the model. Columns become tokens (tokens.py); one network (network.py) learns every
column's distribution given any set of other columns; sampling fills the token columns one by
one, condition columns first with their values fed in, so any subset of columns is a valid
condition, met natively: equalities are the tokens of the value, ranges restrict the tokens
to those overlapping the range and the final value to the range; nothing is rejected or
overwritten. `temperature` and `top_p` shape every head's distribution while sampling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from synth.data.codecs import OTHER
from synth.data.constraints.detect import detect_orders
from synth.data.metadata import Metadata
from synth.data.transformer import DataTransformer
from synth.errors import ConditionError, NotFittedError
from synth.models.argn.config import ARGNConfig
from synth.models.argn.network import NEG, ARGNet
from synth.models.argn.private_tokens import private_tokenizer, released
from synth.models.argn.session import ARGNSession, HeldOutLikelihood
from synth.models.argn.tokens import Tokenizer, value_tokens
from synth.models.base import BLOCK_ROWS, OneNetworkSynthesizer
from synth.models.conditions import Condition
from synth.models.loop import LoopConfig
from synth.models.private import PrivateFit
from synth.models.registry import register_synthesizer
from synth.models.session import Reduce, Shard, Wrap, pick_device
from synth.store import json_bytes, load_json, load_npz, npz_bytes

MAX_VALIDATION_ROWS = 10_000
MIN_VALIDATION_ROWS = 50


@dataclass
class Plan:
    """How one set of conditions is imposed: the token columns' sampling order, fixed tokens,
    allowed-token masks (first tokens; per-bin masks of slices) and the numeric values or
    ranges the decoded values take."""

    order: list[int]
    fixed: dict[int, int] = field(default_factory=dict)
    allowed: dict[int, np.ndarray] = field(default_factory=dict)
    sub_allowed: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


@register_synthesizer("argn")
class ARGN(PrivateFit, OneNetworkSynthesizer):
    name = "argn"
    config_cls = ARGNConfig
    mode_normalize = False  # tokens are made from plain codec values
    weight_file_names: ClassVar[list[str]] = ["weights.pt", "tokens.json", "tokens.npz"]

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.tokens: Tokenizer | None = None
        self.dp_state: dict[str, Any] = {}  # under dp: δ, the statistics' noise, the rows


    # ----------------------------------------------------------------- fit
    def _prepare(self, data: pd.DataFrame, metadata: dict | Metadata | None) -> pd.DataFrame:
        rows = super()._prepare(data, metadata)  # the private path under dp (PrivateFit)
        if self.config.dp is not None:
            return rows
        self.tokens = Tokenizer.fit(rows, self._fitted_transformer(), self.config)
        return rows

    def _detected_constraints(self, data: pd.DataFrame, md: Metadata) -> list[dict[str, Any]]:
        return detect_orders(data, md) if self.config.detect_orders else []

    def _released(self, tr: DataTransformer) -> list[str]:
        return released(tr, self.config)

    def _private_parts(self, rows: pd.DataFrame, tr: DataTransformer, stats_noise: float
                       ) -> None:
        self.tokens = private_tokenizer(rows, tr, self.config, stats_noise, self.config.seed)

    @property
    def prepared(self) -> bool:
        return self.transformer is not None and self.tokens is not None

    def worker_state(self) -> dict[str, Any]:
        return {**super().worker_state(), "tokens": self._tokens().state()}

    def _install_worker_state(self, state: dict[str, Any]) -> None:
        super()._install_worker_state(state)
        self.tokens = Tokenizer.from_state(*state["tokens"])

    def _encode(self, data: pd.DataFrame) -> np.ndarray:
        """Rows as token codes (rows x token columns, int64)."""
        return self._tokens().encode(data, self._fitted_transformer())

    def loop_config(self) -> LoopConfig:
        """Early stopping every epoch with `patience`: in-process on held-out likelihood, on
        Ray Train (unless the job sets its own) on the job's validation score."""
        cfg = self.config
        if cfg.dp is not None:  # exactly dp.epochs: validation would read real rows
            return LoopConfig(epochs=cfg.dp.epochs)
        return LoopConfig(epochs=cfg.epochs, validate_every=1,
                          early_stop_patience=cfg.patience if cfg.val_fraction else 0,
                          keep_best=True)

    def _fit_model(self, data: pd.DataFrame) -> None:
        """The loop in this process on all but a held-out share of the rows, whose likelihood
        decides when to stop and which epoch's weights to keep (too few rows: every epoch,
        all rows)."""
        cfg = self.config
        tokens = self._encode(data)
        if cfg.dp is not None:  # every row trains; nothing reads held-out real rows
            self.train_in_process(Shard(tokens, len(tokens), device=pick_device(cfg.device)),
                                  loop=LoopConfig(epochs=cfg.dp.epochs))
            return
        order = np.random.default_rng(cfg.seed).permutation(len(tokens))
        held = min(int(len(tokens) * cfg.val_fraction), MAX_VALIDATION_ROWS)
        held = held if held >= MIN_VALIDATION_ROWS else 0
        train, valid = tokens[order[held:]], tokens[order[:held]]
        loop = self.loop_config() if held else LoopConfig(epochs=cfg.epochs)
        hooks = HeldOutLikelihood(self.name, cfg, valid, len(self.tokens.columns)) if held else None
        self.train_in_process(Shard(train, len(train), device=pick_device(cfg.device)),
                              hooks=hooks, loop=loop)

    def new_network(self) -> ARGNet:
        cols = self._tokens().token_columns
        index = {c: i for i, c in enumerate(self._tokens().columns)}
        cfg = self.config
        return ARGNet([v for _, v in cols], [index[c] for c, _ in cols], cfg.embedding_dim,
                      cfg.hidden, cfg.dropout, self._tokens().positions())

    def _session(self, shard: Shard, wrap: Wrap, reduce: Reduce, device: torch.device
                 ) -> ARGNSession:
        return ARGNSession(self, shard, wrap, reduce, device)

    def _tokens(self) -> Tokenizer:
        self._fitted_transformer()
        if self.tokens is None:
            raise NotFittedError("this argn model has no tokenizer; call fit(data) first")
        return self.tokens

    # ----------------------------------------------------------------- sample
    def _plan(self, conds: list[Condition]) -> Plan:
        tok = self._tokens()
        cols = tok.token_columns
        first = tok.first_token
        plan = Plan(order=[])
        for cond in conds:
            i = first[cond.column]
            if cond.column in tok.numeric:
                self._plan_numeric(plan, cond, i)
            else:
                plan.fixed[i] = self._level_token(cond)
        head = [i for i, (c, _) in enumerate(cols) if c in {x.column for x in conds}]
        plan.order = head + [i for i in range(len(cols)) if i not in head]
        return plan

    def _level_token(self, cond: Condition) -> int:
        """A categorical equality's token: its level's, or for a tail value the tail level's
        (the base class's mask then keeps the rows whose tail draw is that value)."""
        codec = self._fitted_transformer().codecs[cond.column]
        code = cond.code if cond.code is not None else codec.levels.index(OTHER)
        token = self._tokens().level_token(cond.column, code)
        if token is None:
            raise ConditionError(
                f"value {cond.value!r} of column {cond.column!r} is rare in the training data "
                f"(seen fewer than rare_min_count={self.config.rare_min_count} times): this "
                "model never generates it")
        return token

    def _plan_numeric(self, plan: Plan, cond: Condition, i: int) -> None:
        spec = self._tokens().numeric[cond.column]
        if cond.op == "eq":
            for k, t in enumerate(value_tokens(spec, cond.column, float(cond.value))):
                plan.fixed[i + k] = t
            plan.values[cond.column] = float(cond.value)
            return
        low = -np.inf if cond.low is None else cond.low
        high = np.inf if cond.high is None else cond.high
        first, sub = spec.allowed(low, high)
        plan.allowed[i] = first
        if sub is not None:
            plan.sub_allowed[i + 1] = (spec.first_bin, sub)
        plan.ranges[cond.column] = (low, high)

    def _block(self, gen: torch.Generator, plan: Plan, rows: int = BLOCK_ROWS):
        net, tok = self._network(), self._tokens()
        cols = tok.token_columns
        e = net.embedding_dim
        tokens = torch.zeros(rows, len(cols), dtype=torch.long)
        ctx = torch.zeros(rows, len(cols) * e)
        seen: list[int] = []  # the context's filled positions
        with torch.no_grad():
            for i in plan.order:
                u = torch.rand(rows, generator=gen, dtype=torch.float64)
                if i in plan.fixed:
                    tokens[:, i] = plan.fixed[i]
                else:
                    logits = self._head(net, i, ctx, cols[i][1], seen).double()
                    tokens[:, i] = self._draw(logits, self._mask(plan, i, tokens), u)
                ctx[:, i * e:(i + 1) * e] = net.embed_column(i, tokens[:, i])
                seen.extend(range(i * e, (i + 1) * e))
            uniforms = torch.rand(rows, len(tok.numeric), generator=gen,
                                  dtype=torch.float64).numpy()
        return self._decode(tokens.numpy(), uniforms, plan)

    def _head(self, net: ARGNet, i: int, ctx: torch.Tensor, size: int, seen: list[int]
              ) -> torch.Tensor:
        """Head i on the filled part of the context (the rest is zero), on the sampling
        device."""
        index = torch.tensor(sorted(seen), dtype=torch.long)
        device = self.sample_device
        if device is None or device.type == "cpu":
            return net.head(i, ctx, size, index)
        return net.head(i, ctx.to(device), size, index.to(device)).cpu()

    @staticmethod
    def _mask(plan: Plan, i: int, tokens: torch.Tensor) -> torch.Tensor | None:
        """The tokens each row may take at token column i (None: any)."""
        if i in plan.allowed:
            return torch.as_tensor(plan.allowed[i])[None, :]
        if i not in plan.sub_allowed:
            return None
        first_bin, per_bin = plan.sub_allowed[i]  # the slices allowed within each row's bin
        first = tokens[:, i - 1]
        mask = torch.ones(len(first), per_bin.shape[1], dtype=torch.bool)
        in_bin = first >= first_bin
        mask[in_bin] = torch.as_tensor(per_bin)[first[in_bin] - first_bin]
        return mask

    def _draw(self, logits: torch.Tensor, allowed: torch.Tensor | None, u: torch.Tensor
              ) -> torch.Tensor:
        """One token per row by inverse CDF of the tempered, top-p-cut distribution."""
        cfg = self.config
        logits = logits / cfg.temperature
        if allowed is not None:
            logits = logits.masked_fill(~allowed, NEG)
        probs = torch.softmax(logits, dim=1)
        if cfg.top_p < 1:
            ranked, order = probs.sort(dim=1, descending=True)
            keep = ranked.cumsum(1) - ranked < cfg.top_p  # the first always stays
            probs = torch.zeros_like(probs).scatter(1, order, ranked * keep)
        cum = probs.cumsum(1)
        pick = torch.searchsorted(cum, (u * cum[:, -1])[:, None]).squeeze(1)
        return pick.clamp(max=probs.shape[1] - 1)

    def _decode(self, tokens: np.ndarray, uniforms: np.ndarray, plan: Plan
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tr, tok = self._fitted_transformer(), self._tokens()
        at = tok.first_token
        nums = tr.numeric_columns
        numeric = np.zeros((len(tokens), len(nums)))
        null = np.zeros((len(tokens), len(nums)), dtype=bool)
        for j, name in enumerate(nums):
            spec, i = tok.numeric[name], at[name]
            sub = tokens[:, i + 1] if spec.bins else None
            low, high = plan.ranges.get(name, (-np.inf, np.inf))
            numeric[:, j], null[:, j] = spec.decode(tokens[:, i], sub, uniforms[:, j], low, high)
            if name in plan.values:
                numeric[:, j] = plan.values[name]
        cats = np.stack([tok.level_codes(c, tokens[:, at[c]]) for c in tr.categorical_columns],
                        axis=1) if tr.categorical_columns else np.zeros((len(tokens), 0), np.int64)
        return numeric, null, cats

    # ----------------------------------------------------------------- weights
    def _weight_files(self) -> dict[str, bytes]:
        doc, arrays = self._tokens().state()
        return {**super()._weight_files(), "tokens.json": json_bytes(doc),
                "tokens.npz": npz_bytes(arrays)}

    def _network_state(self, files: dict[str, bytes], path: str) -> dict[str, Any]:
        self.tokens = Tokenizer.from_state(load_json(files["tokens.json"], f"{path}/tokens.json"),
                                           load_npz(files["tokens.npz"], f"{path}/tokens.npz"))
        self.tokens.check_against(self._fitted_transformer())
        state = super()._network_state(files, path)
        # a model saved before numeric tokens had an ordinal part: that part is zero
        cols = self.tokens.token_columns
        state.setdefault("direction", torch.zeros(len(cols), self.config.embedding_dim))
        # and before the heads had an ordinal output part: zero too
        state.setdefault("w_ord", torch.zeros(len(cols), self.config.hidden, 2))
        return state
