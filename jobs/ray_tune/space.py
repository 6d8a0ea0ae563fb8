"""Search spaces: the plain descriptions beside each model config (synth, no Ray) turned into
ray.tune distributions, with the user's overrides checked against the model's parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

from synth.api import synthesizer_class
from synth.errors import ConfigError

BUDGET_KEYS = ("epochs",)  # the search budget, set by the tune job, never searched


def model_space(family: str, override: dict[str, Any] | None, fixed: dict[str, Any]
                ) -> dict[str, dict]:
    """The plain space of `family`: its declared one, replaced per key by `override`, minus
    the budget keys and the `fixed` ones; unknown names are refused."""
    config = synthesizer_class(family).config_cls  # the family's config, no model built
    names = {f.name for f in dataclasses.fields(config)}
    for key in [*(override or {}), *fixed]:
        if key not in names:
            raise ConfigError(f"unknown {family} parameter {key!r} in the search; parameters: "
                              f"{', '.join(sorted(names))}")
    declared = config.search_space()  # every family declares one beside its config
    space = {**declared, **(override or {})}
    return {k: v for k, v in space.items() if k not in BUDGET_KEYS and k not in fixed}


def to_tune(spec: dict[str, Any], where: str) -> Any:
    from ray import tune

    kind = spec.get("type")
    if kind == "choice" and spec.get("values"):
        return tune.choice(list(spec["values"]))
    if kind in ("uniform", "loguniform", "randint") and "low" in spec and "high" in spec:
        return getattr(tune, kind)(spec["low"], spec["high"])
    raise ConfigError(f"search space entry {where}: {spec!r} is not one of {{type: choice, "
                      "values: [...]}, {type: uniform|loguniform|randint, low:, high:}")


def param_space(families: list[str], overrides: dict[str, dict], fixed: dict[str, dict]
                ) -> dict[str, Any]:
    """{"model": family or a choice of families, family: {param: distribution}}."""
    from ray import tune

    out: dict[str, Any] = {"model": families[0] if len(families) == 1 else tune.choice(families)}
    size = 0
    for family in families:
        plain = model_space(family, overrides.get(family), fixed.get(family, {}))
        out[family] = {k: to_tune(v, f"{family}.{k}") for k, v in plain.items()}
        size += len(plain)
    if size == 0 and len(families) == 1:
        raise ConfigError("the search space is empty: every parameter is fixed or undeclared; "
                          "add entries under space.<model>.<param>")
    return out
