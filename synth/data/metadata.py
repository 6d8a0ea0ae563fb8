"""Column kinds: detected from a DataFrame, overridable by a dict (ours or SDV-style)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synth.data.lists import looks_like_lists
from synth.errors import DataError, MetadataError

KINDS = ("numerical", "categorical", "boolean", "datetime", "id", "text", "list")
# SDV sdtypes that are not ours: personal data is generated, never copied, so treat it as text.
_SDV_ALIASES = {"numerical": "numerical", "categorical": "categorical", "boolean": "boolean",
                "datetime": "datetime", "id": "id", "text": "text", "list": "list"}
# SDV sdtypes whose values SDV generates (never copies): ours as text. "unknown" too.
_SDV_GENERATED = ("email", "phone_number", "address", "name", "first_name", "last_name",
                  "unknown")
_SDV_PLAIN = ("ordinal",)  # mapped to categorical without a privacy warning
_ID_NAME = re.compile(r"(^id$|_id$|^id_|uuid|guid|(^|_)key$)", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d",
                 "%m/%d/%Y", "%d/%m/%Y", "%Y-%m-%d %H:%M", "%d.%m.%Y")


@dataclass
class ColumnMeta:
    """What one column is: its kind and how its values are stored."""

    kind: str
    datetime_format: str | None = None
    # declarations that let a differentially private fit build the column's codec without
    # reading it (synth/dp/declared.py): the categories, the numeric (or datetime) bounds,
    # whether nulls occur, the decimals generated values are rounded to
    values: list[Any] | None = None
    min: Any = None
    max: Any = None
    nullable: bool | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MetadataError(f"unknown column kind {self.kind!r}; valid: {', '.join(KINDS)}")
        if self.values is not None and not isinstance(self.values, list | tuple):
            raise MetadataError(f"'values' must be a list of the column's categories, got "
                                f"{self.values!r}")


@dataclass
class Metadata:
    """Ordered column -> ColumnMeta mapping (the order of the training frame), plus the
    constraints every generated row must obey (specs as declared: see synth.data.constraints)."""

    columns: dict[str, ColumnMeta] = field(default_factory=dict)
    constraints: list[dict[str, Any]] = field(default_factory=list)

    def kind(self, column: str) -> str:
        return self.columns[column].kind

    def names(self, *kinds: str) -> list[str]:
        return [c for c, m in self.columns.items() if not kinds or m.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        cols = {}
        for name, meta in self.columns.items():
            cols[name] = {k: v for k, v in asdict(meta).items() if v is not None}
        out: dict[str, Any] = {"columns": cols}
        if self.constraints:
            out["constraints"] = [dict(c) for c in self.constraints]
        return out

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Metadata:
        """Accept our format ({"columns": {c: {"kind": k}}}), SDV's single-table format
        ({"columns": {c: {"sdtype": k}}, "primary_key": c}) or a flat {column: kind}."""
        if not isinstance(spec, dict):
            raise MetadataError(f"metadata must be a dict, got {type(spec).__name__}")
        constraints = spec.get("constraints") or []
        if not isinstance(constraints, list) or not all(isinstance(c, dict) for c in constraints):
            raise MetadataError("metadata 'constraints' must be a list of constraint dicts, e.g. "
                                '[{"type": "inequality", "low": "start", "high": "end"}]')
        columns = spec.get("columns", {k: v for k, v in spec.items() if k != "constraints"})
        if not isinstance(columns, dict):
            raise MetadataError("metadata 'columns' must map column names to their kinds")
        out = {name: _column_meta(name, entry) for name, entry in columns.items()}
        _warn_sdv_types({name: entry.get("sdtype") for name, entry in columns.items()
                         if isinstance(entry, dict) and "kind" not in entry})
        key = spec.get("primary_key")
        if isinstance(key, str) and key in out:
            out[key] = ColumnMeta("id")
        return cls(out, [dict(c) for c in constraints])


def _column_meta(name: str, entry: Any) -> ColumnMeta:
    if isinstance(entry, str):
        return ColumnMeta(_kind_name(name, entry))
    if not isinstance(entry, dict) or not ({"kind", "sdtype"} & set(entry)):
        raise MetadataError(f"column {name!r}: expected {{'kind': ...}} or {{'sdtype': ...}}")
    kind = _kind_name(name, entry.get("kind") or entry.get("sdtype"), sdv="kind" not in entry)
    values = entry.get("values")
    return ColumnMeta(kind, entry.get("datetime_format"),
                      list(values) if isinstance(values, list | tuple) else values,
                      entry.get("min"), entry.get("max"), entry.get("nullable"),
                      entry.get("decimals"))


def _kind_name(column: str, kind: Any, sdv: bool = False) -> str:
    kind = str(kind).lower()
    if kind in _SDV_ALIASES:
        return _SDV_ALIASES[kind]
    if kind in _SDV_GENERATED:
        return "text"
    if sdv and re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        return "categorical"  # SDV's other sdtypes (ordinal, administrative_unit, PII types)
    raise MetadataError(f"column {column!r}: unknown kind {kind!r}; valid: {', '.join(KINDS)}")


def _warn_sdv_types(sdtypes: dict[str, Any]) -> None:
    """One warning naming the SDV columns learned as categories whose sdtype SDV would
    anonymise (their real values can come back in the synthetic data)."""
    import warnings

    learned = sorted(c for c, t in sdtypes.items() if t is not None
                     and str(t).lower() not in (*_SDV_ALIASES, *_SDV_GENERATED, *_SDV_PLAIN))
    if learned:
        warnings.warn(
            f"SDV sdtypes of columns {', '.join(learned)} are learned as categorical: their "
            "real values are reproduced like any category, where SDV would generate fresh "
            "ones. Declare them kind 'text' (generated) or 'id' if they are personal data",
            UserWarning, stacklevel=3)


def detect_metadata(df: pd.DataFrame, overrides: dict[str, Any] | Metadata | None = None
                    ) -> Metadata:
    """Detect each column's kind; entries of `overrides` win over detection."""
    check_frame(df)
    given = overrides if isinstance(overrides, Metadata) else Metadata.from_dict(overrides or {})
    unknown = sorted(set(given.columns) - {str(c) for c in df.columns})
    if unknown:
        raise MetadataError(f"metadata names column {unknown[0]!r}, which is not in the data; "
                            f"columns are: {', '.join(map(str, df.columns))}")
    cols = {}
    for name in df.columns:
        series = df[name]
        meta = given.columns.get(name) or detect_column(series)
        if meta.kind == "datetime" and meta.datetime_format is None and series.dtype == object:
            meta = ColumnMeta("datetime", _date_format(series.dropna().astype(str)))
        cols[name] = meta
    return Metadata(cols, list(given.constraints))


def check_frame(df: Any) -> None:
    """Reject inputs no model can learn from, naming the problem and the fix."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}; "
                        "load files with synth.data.io.read_table(path)")
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError(f"the data is empty ({len(df)} rows x {df.shape[1]} columns); "
                        "pass a table with rows and columns")
    if len(df) < 2:
        raise DataError("the data has a single row; a synthesizer needs at least 2 rows to learn "
                        "a distribution")
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()][0]
        raise DataError(f"column {dup!r} appears twice; rename one of them")
    bad = [str(c) for c in df.columns if not isinstance(c, str)]
    if bad:
        raise DataError(f"column names must be strings, got {bad[0]!r}; rename the columns")
    empty = [c for c in df.columns if df[c].isna().all()]
    if empty:
        raise DataError(f"column {empty[0]!r} has no values (all null); drop it before fitting")


def detect_column(series: pd.Series) -> ColumnMeta:
    """Kind of one column from its dtype and values."""
    values = series.dropna()
    if series.dtype == object and len(values) and looks_like_lists(values):
        return ColumnMeta("list")  # Arrow lists or list-shaped strings: learned element-wise
    n, n_unique = len(values), values.nunique()
    if pd.api.types.is_bool_dtype(series) or _is_bool_like(values, n_unique):
        return ColumnMeta("boolean")
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnMeta("datetime")
    if pd.api.types.is_numeric_dtype(series):
        if _is_int_id(series.name, values, n, n_unique):
            return ColumnMeta("id")
        return ColumnMeta("numerical")
    if isinstance(series.dtype, pd.CategoricalDtype):
        return ColumnMeta("categorical")
    strings = values.astype(str)
    fmt = _date_format(strings)
    if fmt is not None:
        return ColumnMeta("datetime", fmt)
    ratio = n_unique / max(n, 1)
    words = strings.head(500).str.count(" ").mean() + 1 if n else 0
    if n >= 20 and ratio > 0.5 and words >= 4:
        return ColumnMeta("text")
    named_id = bool(_ID_NAME.search(str(series.name)))
    if (n >= 20 and ratio >= 0.95) or (ratio == 1.0 and n >= 5 and named_id):
        return ColumnMeta("id")
    return ColumnMeta("categorical")


def _is_bool_like(values: pd.Series, n_unique: int) -> bool:
    if n_unique > 2 or values.dtype != object:
        return False
    return set(values.unique()) <= {True, False}


def _is_int_id(name: Any, values: pd.Series, n: int, n_unique: int) -> bool:
    if n < 5 or n_unique != n or not pd.api.types.is_integer_dtype(values):
        return False
    span = float(values.max()) - float(values.min()) + 1
    return bool(_ID_NAME.search(str(name))) or (n >= 20 and span <= 2 * n)


def _date_format(strings: pd.Series) -> str | None:
    sample = strings.head(200)
    if sample.empty or not sample.str.contains(r"\d", regex=True).all():
        return None
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None


def as_float(series: pd.Series) -> np.ndarray:
    """Numeric values as float64 (nulls -> nan), raising a clear error on non-numbers and on
    infinities (no model can learn or reproduce them; they would poison every scaler)."""
    try:
        out = pd.to_numeric(series, errors="raise").astype("float64").to_numpy()
    except (TypeError, ValueError):
        bad = series[pd.to_numeric(series, errors="coerce").isna() & series.notna()].iloc[0]
        raise DataError(f"column {series.name!r} is numerical but holds {bad!r}; fix the value "
                        f"or declare the column categorical in metadata") from None
    infinite = np.isinf(out)
    if infinite.any():
        row = series.index[int(np.argmax(infinite))]
        raise DataError(f"column {series.name!r} holds {int(infinite.sum())} infinite values "
                        f"(first at row {row!r}); replace them with a number or null")
    return out
