"""Caffe Python layers of colornet: only the thin ``caffe.Layer`` adapters (caffe_layers.py) and
what adapters share (params.py: param_str as JSON checked against defaults; interpreter.py). The
numpy maths they adapt lives in the package, colornet/colour/, where tests call it without Caffe.

Nets name a layer as ``python_param { module: "layers.caffe_layers" layer: "<Class>" }``; the
``caffe`` command installed by ``make setup`` puts the working directory on PYTHONPATH, so run
``caffe train`` from the repository root.
"""
