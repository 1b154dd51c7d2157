"""Hints as corrections to the net's colours: what a hint says is how far the net's colour at that
spot is from the one the user chose, and that difference, not the hint's colour itself, is spread
over the photo.

    result = base + r,   r = hint − base on the hinted patches, spread by Levin's propagation

The base is the net's colours decoded at the card's own temperature for this use (its plain mean,
1.0, chosen on val: a vivid guess is a worse thing to correct than a cautious one). Where the net
was right the hint changes little; where it was wrong by the same amount over an object (a cast,
too pale) one point mends the object. Two things keep a correction where it belongs:
- the affinities see the net's colours beside the luminance (net_guide: their weight against the
  luminance's), so it does not cross from one predicted colour to another where grey alone
  would let it through;
- the correction fades away from the hints with the prior weight λ (colorize/hints.py,
  prior_weights: λ rising from 0 at the hints over a reach per hint): one click changes its
  object more than the photo, ten reach the whole photo.
With λ 0 and net_guide 0 over a grey base it is Levin's method from grey exactly.

Measured (docs/hints.md): better than the hint net's colours as the propagation's prior on the
20 val photos it was chosen on (all BSDS500, where the automatic colours are good), level with
Levin's propagation from grey on val's Debian-package photos and below it at every N on the test
split, where the automatic colours are no better than grey. So the default's card does not name
it; a card may (tools/export_model.py --hint-transfer), for a net whose colours hold on the
photos it will see.
"""
import dataclasses

import cv2
import numpy as np

from colornet.colorize import families
from colornet.colorize import upsample as chroma_upsample
from colornet.colorize.hints import HINT_GRID_SIDE, fixed_patches, grid_shape, prior_weights, propagate
from colornet.colorize.settings import LIMITS

BASES = ("automatic", "hint_net")
# The net's colours enter the affinities in units of a full 8-bit chroma step (yuv64's offsets and
# Lab's ab both span about ±128).
CHROMA_SCALE = 255.0


class TransferError(ValueError):
    """A model card's hint_transfer entry that cannot be used; the message names the field."""


@dataclasses.dataclass(frozen=True)
class HintTransfer:
    """How a model's hinted photos are made (its card's "hint_transfer"): the base's colours (the
    automatic net's or the hint net's), decoded at `temperature`, and the weight of those colours
    in the affinities (`net_guide`, 0: the luminance alone)."""
    base: str = "automatic"
    temperature: float = 1.0
    net_guide: float = 10.0

    @classmethod
    def from_card(cls, entry, where):
        """The card's entry (a dict; its hint_weight, hint_reach and notes are the Model's) → a
        HintTransfer, or TransferError naming `where` and the field."""
        fields = {name: entry[name] for name in ("base", "temperature", "net_guide") if name in entry}
        transfer = cls(**fields)
        if transfer.base not in BASES:
            raise TransferError(f"{where}: hint_transfer.base must be one of {', '.join(BASES)} (found {transfer.base!r})")
        for name, (low, high) in (("temperature", LIMITS["temperature"]), ("net_guide", (0.0, 1000.0))):
            value = getattr(transfer, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise TransferError(f"{where}: hint_transfer.{name} must be a number from {low} to {high} (found {value!r})")
        return transfer


def transferred_chroma(lum, chroma, hints, family, prior_weight, reach=0, net_guide=HintTransfer.net_guide,
                       side=HINT_GRID_SIDE):
    """Full-resolution luminance H×W + the base's chroma 2×h×w (the net's grid) + hints → chroma
    2×gh×gw on the solve's grid: the base brought to the grid (guided by the luminance), plus
    the hints' corrections spread over it. prior_weight, reach: the corrections' fade away from
    the hints (hints.prior_weights, the reach per hint). With no hints: the base on the grid."""
    kind = families.family(family)
    shape = grid_shape(lum.shape, side)
    lum_grid = cv2.resize(lum, shape[::-1], interpolation=cv2.INTER_AREA)
    base = chroma_upsample.upsample(np.asarray(chroma, np.float32), lum_grid, kind.lum_range, dtype=np.float32)
    if not hints:
        return np.ascontiguousarray(base.transpose(2, 0, 1))
    guide = np.dstack([lum_grid.astype(np.float64) / kind.lum_range, net_guide * base.astype(np.float64) / CHROMA_SCALE])
    base = base.transpose(2, 0, 1).astype(np.float64)
    fixed_mask, fixed_chroma = fixed_patches(hints, lum.shape, shape)
    correction = propagate(guide, fixed_mask, np.where(fixed_mask, fixed_chroma - base, 0.0), None,
                           prior_weights(fixed_mask, prior_weight, reach * len(hints)))
    return (base + correction).astype(np.float32)
