"""Colour maths of the inference path, without Caffe: what the colorize pipeline needs to turn a
net's chroma into a photo (gamut.py: chroma fitted into sRGB so the photo keeps its luminance)."""
