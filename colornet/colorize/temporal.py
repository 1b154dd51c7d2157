"""Colour that holds still from frame to frame: smoothing the net's chroma over time.

The net guesses each frame's colour afresh, and its guess for a wall or a sky moves a little with
every frame: that is the flicker people see. ChromaSmoother keeps an exponential moving average
of the net's low-resolution chroma per pixel, optionally moved along with the picture by dense
optical flow (OpenCV's Farneback, at half the chroma's small resolution, so it costs little), and
starts afresh at a scene cut, found from the luminance histograms of consecutive frames. Pure
numpy/OpenCV: the tests call it without Caffe or a video.
"""
import cv2
import numpy as np

HISTOGRAM_BINS = 32
# Total-variation distance between consecutive luminance histograms above which a frame is a new
# scene: a pan or a moving object changes a few percent of the histogram, a cut most of it.
CUT_DISTANCE = 0.3


def luminance_histogram(small_lum):
    counts = np.bincount((small_lum.astype(np.int32).ravel() * HISTOGRAM_BINS) // 256, minlength=HISTOGRAM_BINS)
    return counts / max(counts.sum(), 1)


def is_cut(previous_histogram, histogram, threshold=CUT_DISTANCE):
    return previous_histogram is not None and 0.5 * np.abs(previous_histogram - histogram).sum() > threshold


class ChromaSmoother:
    """Feed it each frame's chroma (2×h×w, float) and luminance at the same h×w (uint8) in order;
    it returns the chroma to use. strength 0 is frame by frame; 0.8 keeps 80 % of the running
    average at each frame. motion: warp the running average by optical flow first."""

    def __init__(self, strength=0.9, motion=True, cut_distance=CUT_DISTANCE):
        if not 0 <= strength < 1:
            raise ValueError(f"temporal smoothing must be in [0, 1), got {strength}")
        self.strength, self.motion, self.cut_distance = strength, motion, cut_distance
        self.average = self.previous_lum = self.previous_histogram = None
        self.cuts = []
        self.frame = 0

    def update(self, chroma, small_lum):
        histogram = luminance_histogram(small_lum)
        cut = is_cut(self.previous_histogram, histogram, self.cut_distance)
        if cut:
            self.cuts.append(self.frame)
        if self.strength == 0 or self.average is None or cut:
            self.average = chroma.astype(np.float32).copy()
        else:
            previous = self._follow_motion(small_lum) if self.motion else self.average
            self.average = self.strength * previous + (1 - self.strength) * chroma.astype(np.float32)
        self.previous_lum, self.previous_histogram = small_lum, histogram
        self.frame += 1
        return self.average

    def _follow_motion(self, small_lum):
        """The running average moved to where its content is in this frame: for each pixel of this
        frame, the flow says where it was in the previous one."""
        # The flow at half the chroma's resolution, scaled up: 0.6 against 2.1 ms a frame at the
        # default model's 112², with the same flicker and colour on the test clips (flicker 0.095
        # against 0.090, pan AuC 82.67 against 82.72; bench/bench_video.py).
        height, width = small_lum.shape
        half = (max(width // 2, 1), max(height // 2, 1))
        flow = cv2.calcOpticalFlowFarneback(cv2.resize(small_lum, half, interpolation=cv2.INTER_AREA),
                                            cv2.resize(self.previous_lum, half, interpolation=cv2.INTER_AREA), None,
                                            pyr_scale=0.5, levels=1, winsize=9, iterations=3, poly_n=5, poly_sigma=1.1,
                                            flags=0)
        flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
        flow *= np.array([width / half[0], height / half[1]], np.float32)
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        return np.stack([cv2.remap(channel, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                         for channel in self.average])


def flicker(frames, still_masks=None):
    """Mean |Δab| (CIELAB units, OpenCV's 8-bit Lab) between consecutive BGR frames over the pixels
    whose true content does not change (still_masks: per frame, True where it does change).

    Each frame's colour (its U, V) is taken at the first frame's luminance: a colorized frame
    keeps the film's own luminance, grain and exposure flicker included, and those would move ab
    even where the added colour holds perfectly still."""
    differences = []
    previous = reference = None
    for index, frame in enumerate(frames):
        yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV)
        if reference is None:
            reference = yuv[..., 0].copy()
        yuv[..., 0] = reference
        ab = cv2.cvtColor(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR), cv2.COLOR_BGR2LAB)[..., 1:].astype(np.float32)
        if previous is not None:
            keep = np.ones(frame.shape[:2], bool)
            if still_masks is not None:
                keep &= ~still_masks[index] & ~still_masks[index - 1]
            differences.append(np.abs(ab - previous)[keep].mean())
        previous = ab
    return float(np.mean(differences)) if differences else 0.0
