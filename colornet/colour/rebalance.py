"""Class rebalancing that touches gradients only (Zhang et al. 2016, ``ClassRebalanceMult``).

Forward passes the prediction through unchanged; backward multiplies the incoming gradient by a
per-pixel weight (prior boost × non-grey mask), so rare colours pull as hard as common ones.
Pure numpy; the Caffe adapter is ``layers.caffe_layers.ClassRebalanceMultLayer``.
"""


def rebalance_backward(top_diff, pixel_weights):
    """Gradient N×C×H×W times per-pixel weights N×1×H×W, broadcast over channels."""
    if pixel_weights.ndim != 4 or pixel_weights.shape[1] != 1 \
            or pixel_weights.shape[0] != top_diff.shape[0] or pixel_weights.shape[2:] != top_diff.shape[2:]:
        raise ValueError(f"pixel weights of shape {pixel_weights.shape} do not match "
                         f"a gradient of shape {top_diff.shape} (need N×1×H×W)")
    return top_diff * pixel_weights
