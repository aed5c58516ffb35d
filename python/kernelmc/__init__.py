"""kernelmc from Python: the commands of the kernelmc CLI as functions.

Each run function takes ``config`` as a dict (sections as in the TOML files:
``{"model": {"depth": 2}, "theory": {"fb": {"damping": 0.3}}}``), a path to a TOML
file, or None (the built-in defaults), plus ``overrides``, strings like the CLI's
``--set section.key=value``. The config goes through the same loader as the CLI, so
its rules, defaults and error messages are the CLI's. Training data come from the
config's ``[data]`` section, or from numpy arrays ``X`` (P x d) and ``Y`` (P x D, or
length P); with arrays the report's ``data.kind`` is ``csv`` with files named
``<numpy X>`` and ``<numpy Y>``.

Each returns the content of the JSON report the CLI command writes, as a dict in
which every list of numbers (any depth, rectangular) is a numpy array (float64, or
int64 when all its numbers are integers; ``null`` becomes NaN) and everything under
``provenance`` is left as plain Python values, so ``result["provenance"]["config"]``
can be passed back as a config. Nothing is written to disk.

Errors raise :class:`Error` subclasses with the CLI's message: :class:`ConfigError`
(also a ValueError), :class:`DataError` (ValueError), :class:`InputFileError`
(OSError), :class:`NumericalError` (ArithmeticError). Long runs release the GIL and
stop with KeyboardInterrupt on Ctrl-C at the next progress report.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from . import _kernelmc
from ._kernelmc import ConfigError, DataError, Error, InputFileError, NumericalError

__version__ = _kernelmc.version
__all__ = [
    "Error", "ConfigError", "DataError", "InputFileError", "NumericalError",
    "nngp", "prior_moments", "prior", "sample", "criticality", "theory", "validate",
    "to_toml", "report_dict",
]

ConfigLike = Union[None, str, os.PathLike, Mapping]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_value(value: Any, field: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)  # the shortest text that reads back as the same double
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(os.fspath(value), ensure_ascii=False)  # JSON escapes are TOML's
    if isinstance(value, (Sequence, np.ndarray)):
        return "[" + ", ".join(_toml_value(v, field) for v in value) + "]"
    raise TypeError(f"config {field}: a {type(value).__name__} cannot be written as TOML")


def _toml_lines(table: Mapping, prefix: list, lines: list) -> None:
    for key, value in table.items():
        key = str(key)
        path = prefix + [key if _BARE_KEY.fullmatch(key) else json.dumps(key)]
        if isinstance(value, Mapping):
            _toml_lines(value, path, lines)
        else:
            lines.append(".".join(path) + " = " + _toml_value(value, ".".join(path)))


def to_toml(config: Mapping) -> str:
    """A config dict as TOML text (dotted keys), the form the CLI's --config reads."""
    lines: list = []
    _toml_lines(config, [], lines)
    return "\n".join(lines) + "\n"


def _source(config: ConfigLike, overrides: Sequence[str] = ()) -> "_kernelmc.ConfigSource":
    if isinstance(overrides, str):
        overrides = [overrides]
    overrides = [str(o) for o in overrides]
    if config is None:
        return _kernelmc.ConfigSource("", "", overrides)
    if isinstance(config, (str, os.PathLike)):
        return _kernelmc.ConfigSource(os.fspath(config), "", overrides)
    if isinstance(config, Mapping):
        return _kernelmc.ConfigSource("", to_toml(config), overrides)
    raise TypeError(f"config: expected a dict, a TOML path or None, not {type(config).__name__}")


def _matrix(values: Any, name: str) -> Optional[np.ndarray]:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"{name}: an array of shape {array.shape}: must be 1-D (P) or 2-D (P x columns)")
    return array


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _numeric_leaves(node: Any, leaves: list) -> bool:
    """True if node is a non-empty nested list of numbers and nulls; collects the leaves."""
    if isinstance(node, list):
        return len(node) > 0 and all(_numeric_leaves(v, leaves) for v in node)
    leaves.append(node)
    return node is None or _is_number(node)


def _numeric_array(items: list) -> Optional[np.ndarray]:
    leaves: list = []
    if not _numeric_leaves(items, leaves) or all(v is None for v in leaves):
        return None
    dtype = np.int64 if all(isinstance(v, int) for v in leaves) else np.float64
    try:
        return np.array(items, dtype=dtype)
    except ValueError:  # ragged
        return None


def _with_arrays(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v if k == "provenance" else _with_arrays(v)) for k, v in node.items()}
    if isinstance(node, list):
        array = _numeric_array(node)
        return array if array is not None else [_with_arrays(v) for v in node]
    return node


def report_dict(json_text: str) -> dict:
    """A report's JSON text as the run functions return it (numeric lists as numpy arrays)."""
    return _with_arrays(json.loads(json_text))


def _model_config(activation, g, bias_variance, depth, theory_settings: Mapping, seed) -> dict:
    model = {"activation": activation, "g": g, "bias_variance": bias_variance, "depth": depth}
    config = {"model": {k: v for k, v in model.items() if v is not None},
              "theory": {k: v for k, v in theory_settings.items() if v is not None}}
    if seed is not None:
        config["run"] = {"seed": seed}
    return config


def nngp(X, activation: Optional[str] = None, g=None, bias_variance: Optional[float] = None,
         depth: Optional[int] = None, *, quadrature_tolerance: Optional[float] = None) -> np.ndarray:
    """The NNGP kernels C_GP^(l), l = 1..L+1, of inputs X (P x d): an array of shape
    (L+1, P, P) whose element [l-1] is C_GP^(l) (THEORY.md section 2).

    The arguments are the [model] fields of the same names (g: one value or L+1 values);
    None means the config default (erf, g = pi/4, bias_variance = 0, depth = 3).
    An F-ordered float64 X is read without a copy.
    """
    config = _model_config(activation, g, bias_variance, depth,
                           {"quadrature_tolerance": quadrature_tolerance}, None)
    X = X if isinstance(X, np.ndarray) and X.ndim == 2 else _matrix(X, "X")
    return _kernelmc.nngp(_source(config), X)


def prior_moments(X, activation: Optional[str] = None, g=None, bias_variance: Optional[float] = None,
                  depth: Optional[int] = None, *, four_point: Optional[str] = None,
                  four_point_nodes: Optional[int] = None, four_point_samples: Optional[int] = None,
                  quadrature_max_points: Optional[int] = None, quadrature_tolerance: Optional[float] = None,
                  seed: Optional[int] = None) -> dict:
    """The O(1/N) prior moments of every layer's kernel on inputs X (THEORY.md section 3.4),
    scaled by the width N so that they do not depend on it:

    - ``nngp``: (L+1, P, P), C_GP^(l) at [l-1];
    - ``scaled_mean_shift``, ``scaled_mean_shift_se``: (L+1, P, P), N*mu^(l) and its Monte
      Carlo error (zero with quadrature);
    - ``scaled_covariance``, ``scaled_covariance_se``: (L+1, K, K), N*Sigma^(l) over the
      K = P(P+1)/2 upper-triangle entries, in the order of ``triangle_pairs`` (K, 2);
    - ``four_point_method``: "quadrature" or "monte_carlo".

    Model arguments as in :func:`nngp`; the others are the [theory] fields of the same names
    and run.seed (Monte Carlo 4-point functions).
    """
    settings = {"four_point": four_point, "four_point_nodes": four_point_nodes,
                "four_point_samples": four_point_samples, "quadrature_max_points": quadrature_max_points,
                "quadrature_tolerance": quadrature_tolerance}
    config = _model_config(activation, g, bias_variance, depth, settings, seed)
    X = X if isinstance(X, np.ndarray) and X.ndim == 2 else _matrix(X, "X")
    return _kernelmc.prior_moments(_source(config), X)


def _run(function, config: ConfigLike, X, Y, overrides: Sequence[str]):
    return function(_source(config, overrides), _matrix(X, "X"), _matrix(Y, "Y"))


def prior(config: ConfigLike = None, X=None, Y=None, *, overrides: Sequence[str] = ()) -> dict:
    """``kernelmc prior``: the exact prior study over widths; the content of prior_study.json."""
    return report_dict(_run(_kernelmc.prior, config, X, Y, overrides))


def sample(config: ConfigLike = None, X=None, Y=None, *, overrides: Sequence[str] = ()) -> dict:
    """``kernelmc sample``: posterior chains; the content of posterior.json."""
    return report_dict(_run(_kernelmc.sample, config, X, Y, overrides))


def criticality(config: ConfigLike = None, X=None, Y=None, *, overrides: Sequence[str] = ()) -> dict:
    """``kernelmc criticality``: the grid over g across the edge of chaos; criticality.json."""
    return report_dict(_run(_kernelmc.criticality, config, X, Y, overrides))


def theory(config: ConfigLike = None, X=None, Y=None, *, overrides: Sequence[str] = ()) -> dict:
    """``kernelmc theory``: every analytic prediction; the content of theory.json plus
    ``matrices``, the arrays of theory_arrays/*.npy keyed by file stem
    (``matrices["nngp_layer3"]``)."""
    json_text, matrices = _run(_kernelmc.theory, config, X, Y, overrides)
    result = report_dict(json_text)
    result["matrices"] = matrices
    return result


def validate(config: ConfigLike = None, X=None, Y=None, *, overrides: Sequence[str] = ()) -> dict:
    """``kernelmc validate``: the validation study over widths; the content of
    validation.json (no figures)."""
    return report_dict(_run(_kernelmc.validate, config, X, Y, overrides))
