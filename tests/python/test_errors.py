"""Bad input raises kernelmc's exception classes with the CLI's messages."""
import numpy as np
import pytest

import kernelmc
from conftest import REPO, run_cli


def cli_message(cli, tmp_path, args, prefix):
    done = run_cli(cli, "theory", args, tmp_path / "out")
    assert done.returncode != 0
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(prefix), line
    return line[len(prefix):]


def test_exception_classes_are_also_builtin_ones():
    assert issubclass(kernelmc.ConfigError, kernelmc.Error) and issubclass(kernelmc.ConfigError, ValueError)
    assert issubclass(kernelmc.DataError, ValueError)
    assert issubclass(kernelmc.InputFileError, OSError)
    assert issubclass(kernelmc.NumericalError, ArithmeticError)
    assert not issubclass(kernelmc.Error, ValueError)


def test_bad_config_value_has_the_cli_message(cli, tmp_path):
    config = REPO / "examples" / "theory_config_b.toml"
    with pytest.raises(kernelmc.ConfigError) as raised:
        kernelmc.theory(config, overrides=["model.kappa=-1"])
    expected = cli_message(cli, tmp_path, ["--config", config, "--set", "model.kappa=-1"], "kernelmc: config error: ")
    assert str(raised.value) == expected
    assert "model.kappa" in expected


def test_bad_value_in_a_dict_names_the_field_as_the_cli_does(cli, tmp_path):
    with pytest.raises(kernelmc.ConfigError) as raised:
        kernelmc.theory({"data": {"kind": "config_b"}, "theory": {"fb": {"damping": 0.0}}})
    expected = cli_message(cli, tmp_path, ["--set", "data.kind=config_b", "--set", "theory.fb.damping=0"],
                           "kernelmc: config error: ")
    assert str(raised.value) == expected


def test_unknown_activation_and_key():
    with pytest.raises(kernelmc.ConfigError, match="model.activation"):
        kernelmc.nngp(np.eye(3), activation="sigmoid")
    with pytest.raises(kernelmc.ConfigError, match="no_such_key"):
        kernelmc.sample({"model": {"no_such_key": 1}})
    with pytest.raises(kernelmc.ConfigError, match="model.depth"):
        kernelmc.nngp(np.eye(3), depth=0)


def test_missing_config_file(cli, tmp_path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(kernelmc.InputFileError) as raised:
        kernelmc.theory(missing)
    assert str(raised.value) == cli_message(cli, tmp_path, ["--config", missing], "kernelmc: ")


def test_bad_arrays_raise_data_errors():
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(kernelmc.DataError, match="NaN|finite|nan"):
        kernelmc.theory({"data": {"kind": "config_b"}}, X, np.ones(4))
    with pytest.raises(kernelmc.DataError, match="Y is missing"):
        kernelmc.theory(None, np.ones((4, 2)))
    with pytest.raises(kernelmc.DataError, match="rows|P"):
        kernelmc.theory(None, np.ones((4, 2)), np.ones(5))
    with pytest.raises(kernelmc.DataError, match="shape"):
        kernelmc.theory(None, np.ones((4, 2, 1)), np.ones(4))
    with pytest.raises(kernelmc.DataError):
        kernelmc.nngp([[1.0, np.inf]])


def test_config_of_a_wrong_type():
    with pytest.raises(TypeError):
        kernelmc.theory(42)
    with pytest.raises(TypeError, match="model.g"):
        kernelmc.theory({"model": {"g": object()}})
