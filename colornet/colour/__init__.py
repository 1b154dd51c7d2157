"""Colour maths without Caffe, for the inference path, the data writers and the Python layers
alike: the YUV-64 codec and class prior (yuv64.py), Lab, the 313 bins, soft encoding and annealed
decoding (lab313.py, soft_encode_jit.py), the rebalanced gradient (rebalance.py), and chroma
fitted into sRGB (gamut.py).
"""
