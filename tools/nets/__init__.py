"""The net families tools/make_prototxt.py generates, one module each (see its docstring)."""
