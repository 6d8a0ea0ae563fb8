"""Constraints every generated row obeys, declared in metadata:

    {"columns": {...}, "constraints": [
        {"type": "inequality", "low": "start", "high": "end", "strict": true},
        {"type": "range", "column": "reading", "low": 0, "high": 100},
        {"type": "range", "column": "x", "low_column": "lo", "high_column": "hi"},
        {"type": "positive", "column": "amount"}, {"type": "negative", "column": "loss"},
        {"type": "fixed_combinations", "columns": ["device", "firmware"]},
        {"type": "fixed_increments", "column": "counter", "increment": 5},
        {"type": "one_hot", "columns": ["is_a", "is_b"]},
        {"type": "custom", "columns": [...], "transform": "m:f", "reverse": "m:g",
         "is_valid": "m:h"}]}

SDV 1.x dicts (`constraint_class` / `constraint_parameters`) are read too. Each constraint may
say `"violations": "error"` (the default: training rows that break it are an error naming it
and the count), `"drop"` or `"fix"`. Models learn a rewritten table in which the rules hold by
construction (synth.data.constraints.base), so every family honours them the same way."""

from synth.data.constraints.chain import ConstraintSet

__all__ = ["ConstraintSet"]
