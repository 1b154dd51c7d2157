"""Colorize photos with a deploy net (colorize/models.py loads it): pre/post-processing, decoding
and hints: the one inference path of the command line, the server, video, evaluation and the
benchmarks.

Both families keep the photo's own full-resolution luminance and add predicted chroma, upsampled
from the net's output guided by that luminance (colorize/upsample.py) or plain cubic:
- lab313 (input blob ``data_l``): L 0..100 in, ab by annealed mean over the 313 bins;
- yuv64 (input blob ``data_y``): Y 0..255 in, UV by annealed mean over the decoded UV of the 64
  classes, or their geometric median (colorize/decoding.py), or argmax (the original's decoding).
"""
import copy
import logging

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize.decoding import fade_dark_offsets
from colornet.colorize.hint_net import CONFIDENCE, HintNetSlot, hint_map_batch
from colornet.colorize.hint_transfer import transferred_chroma
from colornet.colorize.hints import hinted_chroma
from colornet.colorize.models import runner
from colornet.colorize.settings import DEFAULT_TEMPERATURE, Settings
from colornet.photo_io import check_pixels

log = logging.getLogger("colorize")

def luminance(bgr, family):
    """The photo's own luminance at full resolution (BGR H×W×3 or grey H×W in): L 0..100 as
    float32 (lab313) or Y 0..255 as uint8 (yuv64); colorize/families.py."""
    return families.family(family).luminance(bgr)


def net_input(lum, side):
    """The net's side×side input: one area resampling of the full photo, in 8 bits. (Halving
    first by exact 2×2 averages is 10× faster, but the result moves by up to 5 levels at edges.)"""
    return cv2.resize(lum, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)


def decode(outputs, family, temperature=DEFAULT_TEMPERATURE, method="mean", class_scale=None):
    """Net output → N×2×h×w chroma: ab (lab313) or centred UV offsets (yuv64). class_scale: the
    model card's per-class calibration (colorize/decoding.py), yuv64 only."""
    return families.family(family).decode(outputs, temperature, method, class_scale)


def compose(lum, chroma, family, guided=True, dark_limit=0):
    """Full-resolution luminance H×W + low-resolution chroma 2×h×w → uint8 BGR H×W×3.

    guided: edge-aware upsampling (colorize/upsample.py), else cubic; dark_limit (yuv64; 0: off):
    the model card's luminance below which chroma fades to grey. Chroma that does not fit in sRGB
    at a pixel's luminance is shrunk, so the photo keeps its luminance (colour/gamut.py).
    """
    return families.family(family).compose(lum, chroma, guided, dark_limit)


class Colorizer:
    """Photos in (uint8 BGR H×W×3 or grey H×W, any size) → colorized BGR photos out, in batches.

    settings: a colorize.settings.Settings (decode, temperature, upsampling, dark limit, hint
    weight, pixel limit); what it leaves None comes from the model card. Larger photos than its
    pixel limit are refused (photo_io.PixelLimitExceeded) before any work is done on them.
    """

    def __init__(self, model, backend=None, settings=None):
        self.model = model
        self.settings = (settings or Settings()).for_model(model)
        self.runner = runner(model, backend)
        self.hint_net = HintNetSlot(model) if model.hint_net else None

    temperature = property(lambda self: self.settings.temperature)
    method = property(lambda self: self.settings.decode)
    guided = property(lambda self: self.settings.guided)
    max_pixels = property(lambda self: self.settings.max_pixels)
    dark_limit = property(lambda self: self.settings.dark_limit)
    hint_weight = property(lambda self: self.settings.hint_weight)

    def with_settings(self, **changes):
        """This colorizer with other Settings fields (temperature, decode, upsampling, dark_limit,
        hint_weight, max_pixels) over the same loaded net: a per-request change costs no net.
        A field given as None is the model's own again."""
        other = copy.copy(self)
        other.settings = self.settings.replace(**changes).for_model(self.model)
        return other

    def chroma(self, lums, temperature=None):
        return self.chroma_of(self.net_batch(lums), temperature)

    def net_batch(self, lums):
        """Luminances → the net's N×1×side×side input batch."""
        return np.stack([net_input(lum, self.model.side) for lum in lums])[:, None].astype(np.float32)

    def chroma_of(self, batch, temperature=None):
        """The net's input batch → N×2×h×w chroma (at `temperature`, else the settings')."""
        return decode(self.runner.forward(batch), self.model.family, temperature or self.temperature, self.method,
                      class_scale=self.model.class_scale)

    def hinted_net_chroma(self, lum, hints, temperature=None):
        """The hint net's chroma 2×h×w for one luminance and its hints, faded in the dark where
        the hints' evidence is unsure: away from them its colours are as much a guess as the
        automatic ones, those the hints vouch for are not."""
        outputs = self.hint_net.get().forward(self.net_batch([lum]), hint_map_batch([hints], [lum.shape], self.model.side))
        chroma = decode(outputs, self.model.family, temperature or self.temperature, self.method,
                        class_scale=self.model.class_scale)[0]
        sure = cv2.resize(outputs[CONFIDENCE][0].max(axis=0), chroma.shape[:0:-1], interpolation=cv2.INTER_LINEAR)
        return self.faded_in_the_dark(lum, chroma, floor=sure)

    def transfer_base(self, lum, hints):
        """The colours a model with a hint_transfer corrects with the hints: its base net's at the
        transfer's temperature, faded in the dark as the automatic ones are."""
        transfer = self.model.hint_transfer
        if transfer.base == "hint_net":
            return self.hinted_net_chroma(lum, hints, transfer.temperature)
        return self.faded_in_the_dark(lum, self.chroma([lum], transfer.temperature)[0])

    def faded_in_the_dark(self, lum, chroma, floor=0.0):
        """A net's chroma 2×h×w with the dark-pixel fade (yuv64 with a dark limit; else as it is),
        keeping at least `floor` (a number or h×w) of it at each cell."""
        if self.model.family != "yuv64" or not self.dark_limit:
            return chroma
        return fade_dark_offsets(lum, chroma, self.dark_limit, floor=floor)

    def colorize(self, photos, hints=None):
        """hints: per photo a list of hints.Hint (or None). A model whose card names a
        hint_transfer spreads the hints' corrections over its net's colours
        (colorize/hint_transfer.py); else the hints' colours are spread with the net's colours as
        a prior: the hint net's, where the model has one, else the automatic net's
        (colorize/hints.py). hint_weight 0: the hints' propagation alone (Levin's)."""
        for photo in photos:
            check_pixels(photo.shape[1], photo.shape[0], self.max_pixels, "photo")
        hints = hints or [None] * len(photos)
        lums = [luminance(photo, self.model.family) for photo in photos]
        transfer = self.model.hint_transfer if self.hint_weight > 0 else None
        # With hints and no weight on the net's colours the propagation never reads them: the net
        # runs only for the photos whose result uses it (a page update is a propagation alone).
        automatic = [index for index, photo_hints in enumerate(hints) if not photo_hints or (
            self.hint_weight > 0 and self.hint_net is None and transfer is None)]
        chromas = [None] * len(lums)
        for index, chroma in zip(automatic, self.chroma([lums[index] for index in automatic]) if automatic else []):
            chromas[index] = chroma
        reach = self.model.hint_reach
        results = []
        for index, (lum, photo_hints) in enumerate(zip(lums, hints)):
            if not photo_hints:
                results.append(compose(lum, chromas[index], self.model.family, self.guided, self.dark_limit))
                continue
            # The dark-pixel fade is the automatic colours' caution; a user's hints are colours
            # they chose, so with hints only the net's part of the result is faded.
            if transfer:
                grid = transferred_chroma(lum, self.transfer_base(lum, photo_hints), photo_hints, self.model.family,
                                          self.hint_weight, reach, transfer.net_guide)
            else:
                if chromas[index] is None and self.hint_weight > 0:
                    chromas[index] = self.hinted_net_chroma(lum, photo_hints)
                grid = hinted_chroma(lum, chromas[index], photo_hints, self.model.family, self.hint_weight, reach=reach)
            results.append(compose(lum, grid, self.model.family, self.guided))
        return results

    def palette(self, photo, x, y, count=9):
        """The `count` colours the net finds likeliest at photo pixel (x, y), likeliest first, as
        #rrggbb at the photo's own luminance there (ideepcolor offers 9 such as a palette)."""
        lum = luminance(photo, self.model.family)
        outputs = self.runner.forward(self.net_batch([lum]))
        scores = families.family(self.model.family).scores(outputs, self.model.class_scale)[0]
        row = min(int(y * scores.shape[1] / lum.shape[0]), scores.shape[1] - 1)
        col = min(int(x * scores.shape[2] / lum.shape[1]), scores.shape[2] - 1)
        at = scores[:, row, col]
        lum_at = float(lum[int(y), int(x)])
        family = families.family(self.model.family)
        colours = family.class_colours()
        return [family.colour(colours[label], lum_at) for label in np.argsort(-at, kind="stable")[:count]]

    def class_colour(self, label, lum_at):
        """#rrggbb of one output class at luminance lum_at (L for lab313, Y for yuv64), its
        chroma fitted into sRGB there as the photos' are."""
        family = families.family(self.model.family)
        return family.colour(family.class_colours()[label], lum_at)


def encode(image, image_format):
    """uint8 BGR → PNG or JPEG bytes, the same settings everywhere (command line, server, video
    stills), so the same photo and settings give the same bytes."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if image_format == "jpg" else []
    ok, payload = cv2.imencode(f".{image_format}", image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode the result as {image_format}")
    return payload.tobytes()
