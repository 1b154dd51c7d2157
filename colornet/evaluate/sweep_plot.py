"""Decoding sweeps (tools/tune_decode.py's decode_sweep.json) of several models drawn as one
picture: each setting a point at (plain AuC, rebalanced AuC), each model's frontier (the settings
no other of its settings beats on both) joined, grey's scores as the origin's cross-hairs and a
target (grey + margins, e.g. an issue's bar) as a box. Which model does better is then which
frontier lies above the other, whatever decoding each would be given. The command line:
tools/plot_sweeps.py.
"""
import json
import pathlib


class SweepError(ValueError):
    pass


def points(path):
    """[(plain AuC, rebalanced AuC)] of a decode_sweep.json and grey's (plain, rebalanced)."""
    path = pathlib.Path(path)
    try:
        results = json.loads(path.read_text())
        pairs = [(r["summary"]["model"]["auc"], r["summary"]["model"]["auc_rebalanced"]) for r in results]
        grey = results[0]["summary"]["grey"]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise SweepError(f"{path}: not a decode_sweep.json written by tools/tune_decode.py ({error})") from None
    return pairs, (grey["auc"], grey["auc_rebalanced"])


def frontier(pairs):
    """The pairs no other pair is at least as good as on both and better on one, by plain AuC."""
    ahead = [p for p in pairs
             if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in pairs)]
    return sorted(set(ahead))


def plot(sweeps, output, title, target=None):
    """sweeps: [(label, decode_sweep.json path)] scored on the same photos; target: (plain,
    rebalanced) margins over grey to draw as a box. Writes a PNG to output."""
    from colornet.evaluate.scoring import _pyplot, _save_figure
    loaded = [(label, *points(path)) for label, path in sweeps]
    greys = {grey for _, _, grey in loaded}
    if len({(round(a, 4), round(b, 4)) for a, b in greys}) != 1:
        raise SweepError("the sweeps were scored on different photos (their grey scores differ): "
                         "sweep every model on the same list")
    grey = loaded[0][2]
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.6), dpi=100)
    for index, (label, pairs, _) in enumerate(loaded):
        colour = f"C{index}"
        axis.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=12, color=colour, alpha=0.45)
        front = frontier(pairs)
        axis.plot([p[0] for p in front], [p[1] for p in front], color=colour, label=f"{label} ({len(pairs)} decodings)")
    axis.axvline(grey[0], color="grey", linestyle=":")
    axis.axhline(grey[1], color="grey", linestyle=":")
    axis.annotate("grey", grey, fontsize=8, color="grey")
    if target:
        corner = (grey[0] + target[0], grey[1] + target[1])
        axis.add_patch(plt.Rectangle(corner, 100 - corner[0], 100 - corner[1], fill=False, hatch="//",
                                     edgecolor="black", linewidth=0.8))
        axis.annotate(f"grey + {target[0]:g} plain, + {target[1]:g} rebalanced", corner, fontsize=8,
                      xytext=(-4, 4), textcoords="offset points", ha="right")
    xs = [p[0] for _, pairs, _ in loaded for p in pairs] + [grey[0]] + ([grey[0] + target[0]] if target else [])
    ys = [p[1] for _, pairs, _ in loaded for p in pairs] + [grey[1]] + ([grey[1] + target[1]] if target else [])
    axis.set_xlim(min(xs) - 0.3, max(xs) + 0.5)
    axis.set_ylim(min(ys) - 0.5, max(ys) + 0.8)
    axis.set_xlabel("plain AuC %")
    axis.set_ylabel("rebalanced AuC %")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    _save_figure(plt, figure, pathlib.Path(output), title)
    return output


def write_png(sweeps, output, title, target=None):
    pathlib.Path(output).parent.mkdir(parents=True, exist_ok=True)
    return plot(sweeps, output, title, target)
