"""Caffe Python layers of colornet.

Each module pairs pure-numpy functions (testable without Caffe) with a thin ``caffe.Layer``
adapter. Nets name a layer as ``python_param { module: "layers.<module>" layer: "<Class>" }``;
the ``caffe`` command installed by ``make setup`` puts the working directory on PYTHONPATH, so run
``caffe train`` from the repository root.
"""
