import pytest

from layers.params import check_blob_counts, parse_param_str

DEFAULTS = {"sigma": 5.0, "k": 5, "name": "x", "flag": False}


def test_empty_param_str_gives_defaults():
    assert parse_param_str("", DEFAULTS, "L") == DEFAULTS


def test_values_override_defaults_and_int_counts_as_float():
    params = parse_param_str('{"sigma": 3, "k": 10}', DEFAULTS, "L")
    assert params == {"sigma": 3, "k": 10, "name": "x", "flag": False}


@pytest.mark.parametrize("text, message", [
    ("{sigma: 3}", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"sigmaa": 3}', "unknown parameter"),
    ('{"k": "five"}', "'k' must be int"),
    ('{"k": 2.5}', "'k' must be int"),
    ('{"flag": 1}', "'flag' must be bool"),
])
def test_bad_param_str_names_layer_and_reason(text, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_param_str(text, DEFAULTS, "SoftEncodeLayer")
    assert "SoftEncodeLayer" in str(info.value)


def test_blob_counts():
    check_blob_counts("L", [1, 2], [3], 2, 1)
    with pytest.raises(ValueError, match="needs 2 bottom"):
        check_blob_counts("L", [1], [3], 2, 1)
