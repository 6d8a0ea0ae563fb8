"""SDV 1.x constraint dicts ({"constraint_class": ..., "constraint_parameters": {...}}) read
as ours, without importing sdv."""

from __future__ import annotations

from typing import Any

from synth.errors import MetadataError

# SDV class -> (our type, {SDV parameter: our key})
_CLASSES: dict[str, tuple[str, dict[str, str]]] = {
    "Positive": ("positive", {"column_name": "column", "strict_boundaries": "strict"}),
    "Negative": ("negative", {"column_name": "column", "strict_boundaries": "strict"}),
    "Inequality": ("inequality", {"low_column_name": "low", "high_column_name": "high",
                                  "strict_boundaries": "strict"}),
    "ScalarRange": ("range", {"column_name": "column", "low_value": "low",
                              "high_value": "high", "strict_boundaries": "strict"}),
    "Range": ("range", {"low_column_name": "low_column", "middle_column_name": "column",
                        "high_column_name": "high_column", "strict_boundaries": "strict"}),
    "FixedCombinations": ("fixed_combinations", {"column_names": "columns"}),
    "FixedIncrements": ("fixed_increments", {"column_name": "column",
                                             "increment_value": "increment"}),
    "OneHotEncoding": ("one_hot", {"column_names": "columns"}),
}


def from_sdv(spec: dict[str, Any], index: int) -> dict[str, Any]:
    """Our spec for an SDV constraint dict (ours pass through unchanged)."""
    if "constraint_class" not in spec:
        return spec
    name = spec["constraint_class"]
    params = spec.get("constraint_parameters") or {}
    if name == "ScalarInequality":
        return _scalar_inequality(params, index)
    if name not in _CLASSES:
        raise MetadataError(f"constraint #{index + 1}: SDV constraint_class {name!r} is not "
                            f"supported; supported: {', '.join(sorted(_CLASSES))}, "
                            "ScalarInequality")
    kind, keys = _CLASSES[name]
    unknown = sorted(set(params) - set(keys))
    if unknown:
        raise MetadataError(f"constraint #{index + 1} ({name}): unknown parameter "
                            f"{unknown[0]!r}; valid: {', '.join(keys)}")
    return {"type": kind, **{keys[k]: v for k, v in params.items()}}


def _scalar_inequality(params: dict[str, Any], index: int) -> dict[str, Any]:
    relation = params.get("relation")
    ops = {">": ("low", True), ">=": ("low", False), "<": ("high", True), "<=": ("high", False)}
    if relation not in ops:
        raise MetadataError(f"constraint #{index + 1} (ScalarInequality): relation must be one "
                            f"of {', '.join(ops)}, got {relation!r}")
    side, strict = ops[relation]
    return {"type": "range", "column": params.get("column_name"), side: params.get("value"),
            "strict": strict}
