"""The two model families as objects: what differs between a YUV-64 net (Y 0..255 in, 64 μ-law UV
classes out) and a Lab/313 net (L 0..100 in, 313 ab bins out) is said once here, and the
pipeline, hints, video and the tools ask the family instead of branching on its name.
"""
import cv2
import numpy as np

from colornet.colour import lab313
from colornet.colour.yuv64 import Codec
from colornet.colorize import decoding, upsample as chroma_upsample
from colornet.colour.gamut import ab_in_gamut, uv_in_gamut


class Yuv64:
    """Y 0..255 in (blob data_y), 64 UV classes out (blob prob); the photo's luminance is its Y."""
    name = "yuv64"
    input_name, output_name = "data_y", "prob"
    lum_range = 255.0
    lum_to_8bit = 1.0
    has_classes = True        # class calibration, the dark-pixel fade and decoding choices apply

    def luminance(self, bgr):
        """Y as uint8 (OpenCV's BGR→grey: the Y of its BGR→YUV, without computing U and V, within
        one level on 0.04 % of colour pixels and exact on grey ones)."""
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr

    def class_colours(self):
        return Codec().class_uv_offsets.astype(np.float32)  # 64×2 decoded (u, v) − 128

    def decode(self, outputs, temperature, method="mean", class_scale=None):
        """→ N×2×h×w centred U, V offsets, by annealed mean, geometric median or argmax."""
        offsets = self.class_colours()
        probabilities = decoding.calibrated(outputs[self.output_name], class_scale)
        if method == "argmax":
            return offsets[probabilities.argmax(axis=1)].transpose(0, 3, 1, 2)
        log_p = np.log(np.clip(probabilities, 1e-12, None))
        if method == "median":
            return decoding.geometric_median(decoding.annealed_weights(log_p, temperature), offsets)
        return lab313.annealed_expectation(log_p, offsets, temperature)

    def scores(self, outputs, class_scale=None):
        """The per-class scores the palette ranks: calibrated probabilities."""
        return decoding.calibrated(outputs[self.output_name], class_scale)

    def compose(self, lum, chroma, guided=True, dark_limit=0):
        """In 8 bits (the chroma rounded to whole levels, as the output is); dark_limit (0: off):
        the model card's luminance below which chroma fades to grey."""
        uv = upsample_uv(lum, chroma, guided)
        bgr = np.empty(lum.shape + (3,), np.uint8)
        for rows in chroma_upsample.row_bands(lum.shape[0]):
            if dark_limit:
                uv[rows] = decoding.fade_dark_chroma(lum[rows], uv[rows], dark_limit)
            uv[rows] = uv_in_gamut(lum[rows], uv[rows])
            bgr[rows] = cv2.cvtColor(cv2.merge([lum[rows], uv[rows]]), cv2.COLOR_YUV2BGR)
        return bgr

    def colour(self, chroma, lum_at):
        """#rrggbb of one chroma (U, V offsets) at luminance lum_at, fitted into sRGB there."""
        lum = np.uint8([[int(lum_at)]])
        uv = uv_in_gamut(lum, np.uint8([[np.clip(np.rint(np.asarray(chroma) + 128), 0, 255)]]))
        return _hex(cv2.cvtColor(cv2.merge([lum, uv]), cv2.COLOR_YUV2BGR)[0, 0])

    def chroma_image(self, bgr):
        """8-bit BGR H×W×3 → its chroma, 2×H×W float32 (U, V offsets)."""
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 1:].transpose(2, 0, 1).astype(np.float32) - 128

    def chroma_of(self, bgr):
        """The chroma (U, V offsets) of one 8-bit BGR colour; its luminance is dropped."""
        yuv = cv2.cvtColor(np.uint8(bgr).reshape(1, 1, 3), cv2.COLOR_BGR2YUV)[0, 0].astype(np.float32)
        return float(yuv[1] - 128), float(yuv[2] - 128)


class Lab313:
    """L 0..100 in (blob data_l), 313 ab bins out (blob conv8_313); the photo's luminance is its L."""
    name = "lab313"
    input_name, output_name = "data_l", "conv8_313"
    lum_range = 100.0
    lum_to_8bit = lab313.LAB8_L_SCALE
    has_classes = False

    def luminance(self, bgr):
        """L as float32, band by band."""
        lum = np.empty(bgr.shape[:2], np.float32)
        for rows in chroma_upsample.row_bands(bgr.shape[0]):
            band = bgr[rows] if bgr.ndim == 3 else cv2.cvtColor(bgr[rows], cv2.COLOR_GRAY2BGR)
            lum[rows] = lab313.bgr8_to_l(band)
        return lum

    def class_colours(self):
        return lab313.load_centres()

    def decode(self, outputs, temperature, method="mean", class_scale=None):
        """→ N×2×h×w ab by annealed mean (the family's only decoding); class_scale: per-bin
        factors on the probabilities (undoing a share of the training's rebalancing), as yuv64's."""
        scores = outputs[self.output_name]
        if class_scale is not None:
            scores = scores + np.log(np.asarray(class_scale, dtype=scores.dtype))[None, :, None, None]
        return lab313.annealed_expectation(scores, self.class_colours(), temperature)

    def scores(self, outputs, class_scale=None):
        return outputs[self.output_name]

    def compose(self, lum, chroma, guided=True, dark_limit=0):
        """In float, band by band (the chroma too: upsample.float_bands); dark_limit (0: off): the
        card's 8-bit luminance (L·2.55 here) below which chroma fades to grey, as yuv64's."""
        ab_band = chroma_upsample.float_bands(chroma, lum, 100, guided=guided)
        bgr = np.empty(lum.shape + (3,), np.uint8)
        for rows in chroma_upsample.row_bands(lum.shape[0]):
            ab = ab_band(rows)
            if dark_limit:
                ab = ab * decoding.dark_factor(lum[rows] * self.lum_to_8bit, dark_limit)[..., None]
            bgr[rows] = lab313.lab_to_bgr(np.dstack([lum[rows], ab_in_gamut(lum[rows], ab)]))
        return bgr

    def colour(self, chroma, lum_at):
        lum = np.float32([[lum_at]])
        ab = np.asarray(chroma, np.float32)[None, None]
        return _hex(lab313.lab_to_bgr(np.dstack([lum, ab_in_gamut(lum, ab)]))[0, 0])

    def chroma_image(self, bgr):
        """8-bit BGR H×W×3 → its a, b, 2×H×W float32."""
        return lab313.bgr_to_lab(bgr.transpose(2, 0, 1)[None])[0, 1:]

    def chroma_of(self, bgr):
        pixel = np.uint8(bgr).reshape(1, 1, 3).transpose(2, 0, 1)[None].astype(np.float32)
        return tuple(float(v) for v in lab313.bgr_to_lab(pixel)[0, 1:, 0, 0])


def upsample_uv(lum, chroma, guided=True):
    """yuv64: Y uint8 H×W + UV offsets 2×h×w → U, V as uint8 H×W×2 (128 = neutral)."""
    return chroma_upsample.upsample(chroma, lum, 255, offset=128.0, guided=guided)


def _hex(bgr):
    return "#%02x%02x%02x" % (int(bgr[2]), int(bgr[1]), int(bgr[0]))


FAMILIES = {family.name: family for family in (Yuv64(), Lab313())}
BY_INPUT = {family.input_name: family for family in FAMILIES.values()}


def family(name):
    """The family object of a model's family name ("yuv64", "lab313")."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r} (yuv64 or lab313)") from None
