"""JSON ``param_str`` parsing and blob-count checks shared by every colornet Python layer."""
import json


def parse_param_str(param_str, defaults, layer_name):
    """Return ``defaults`` updated with the JSON object in ``param_str``.

    An empty ``param_str`` gives the defaults. Raises ``ValueError`` naming the layer for invalid
    JSON, a non-object, an unknown key, or a value whose type differs from the default's
    (an int is accepted where the default is a float).
    """
    if not param_str or not param_str.strip():
        given = {}
    else:
        try:
            given = json.loads(param_str)
        except json.JSONDecodeError as err:
            raise ValueError(f"{layer_name}: param_str is not valid JSON ({err.msg}): {param_str!r}") from None
    if not isinstance(given, dict):
        raise ValueError(f"{layer_name}: param_str must be a JSON object, got {param_str!r}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{layer_name}: unknown parameter(s) {unknown} in param_str; "
                         f"known: {sorted(defaults)}")
    params = dict(defaults)
    for key, value in given.items():
        default = defaults[key]
        if default is not None and not _same_kind(value, default):
            raise ValueError(f"{layer_name}: parameter '{key}' must be {type(default).__name__}, "
                             f"got {value!r}")
        params[key] = value
    return params


def _same_kind(value, default):
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def check_blob_counts(layer_name, bottom, top, n_bottom, n_top):
    """Raise ``ValueError`` unless the layer has exactly ``n_bottom`` bottoms and ``n_top`` tops."""
    if len(bottom) != n_bottom or len(top) != n_top:
        raise ValueError(f"{layer_name}: needs {n_bottom} bottom(s) and {n_top} top(s), "
                         f"got {len(bottom)} and {len(top)}")
