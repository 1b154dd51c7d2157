"""How a photo is coloured, in one place: every setting's default, its range or choices, and the
one check of them. The command line (add_arguments / from_arguments), the server (check_field,
and describe() served at /api/models so the page's controls take the same ranges), video, hints
and the cluster all build a Settings; the Colorizer fills what is left None from the model card.
"""
import dataclasses

from colornet.photo_io import DEFAULT_MAX_PIXELS

# Zhang et al.'s annealed-mean temperature; a model card may name its own.
DEFAULT_TEMPERATURE = 0.38
# Weight of the net's own colours beside the hints in the propagation, for a model whose card
# names none: 0, Levin's propagation alone. For an automatic net's colours every weight tried on
# val lost PSNR against none (0.0005-0.02 at every N, 2026-11: they were further from the truth
# than grey there); a model with a hint net names its own, chosen on val (docs/hints.md).
DEFAULT_HINT_WEIGHT = 0.0
LIMITS = {
    "temperature": (0.01, 5.0),
    "hint_weight": (0.0, 1.0),
    "dark_limit": (0, 255),
    "max_pixels": (0, None),
}
CHOICES = {
    "decode": ("mean", "median", "argmax"),
    "upsampling": ("guided", "cubic"),
    "format": ("png", "jpg"),
}
EXPLAINED = {
    "decode": "YUV-64: annealed mean over the classes' colours, their geometric median, or argmax",
    "temperature": "annealed-mean temperature: lower is more vivid, 1 is the plain mean",
    "upsampling": "chroma to full size guided by the photo's own luminance (colour keeps to edges), or cubic",
    "dark_limit": "luminance below which the colour fades to grey (0: off)",
    "hint_weight": "weight of the net's own colours beside the hints (0: the hints alone)",
    "max_pixels": "refuse inputs over this many pixels, read from the header before decoding (0: no limit)",
    "format": "output image format",
}


class SettingsError(ValueError):
    """A setting out of its range or choices; the message names it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """None: the model card's value (decode, temperature, dark_limit, hint_weight), else the default."""
    decode: str = None
    temperature: float = None
    upsampling: str = "guided"
    dark_limit: int = None
    hint_weight: float = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    format: str = "png"

    def __post_init__(self):
        for name in dataclasses.fields(self):
            check_field(name.name, getattr(self, name.name))

    @property
    def guided(self):
        return self.upsampling == "guided"

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def for_model(self, model):
        """These settings with what is None taken from the model card, else the defaults."""
        return self.replace(decode=self.decode or model.method or "mean",
                            temperature=self.temperature if self.temperature is not None
                            else model.temperature or DEFAULT_TEMPERATURE,
                            dark_limit=self.dark_limit if self.dark_limit is not None else model.dark_limit,
                            hint_weight=self.hint_weight if self.hint_weight is not None
                            else getattr(model, "hint_weight", None) or DEFAULT_HINT_WEIGHT)


def check_field(name, value):
    """The value of one setting, checked (None passes: the model's own); raises SettingsError."""
    if value is None:
        return value
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise SettingsError(f"{name} must be {' or '.join(CHOICES[name])}, got {value!r}")
        return value
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name} must be {span}, got {value}")
    return value


def parse_field(name, text):
    """A setting from request text ('' or None: not given); raises SettingsError."""
    if text in (None, ""):
        return None
    if name in CHOICES:
        value = str(text).lower()
        return check_field(name, "jpg" if (name, value) == ("format", "jpeg") else value)
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
    return check_field(name, int(value) if name in ("dark_limit", "max_pixels") else value)


def describe():
    """What the page and API clients need to offer the settings: defaults, ranges, choices."""
    defaults = dataclasses.asdict(Settings())
    return {name: {"default": defaults[name], "explained": EXPLAINED[name],
                   **({"choices": list(CHOICES[name])} if name in CHOICES else
                      {"min": LIMITS[name][0], "max": LIMITS[name][1]})}
            for name in defaults}


def add_arguments(parser, output=True, hints=False):
    """The colouring options of every tool that colours photos (use_trained_model.py, evaluate.py;
    output: also --format, for the tools that write images; hints: also --hint-weight)."""
    parser.add_argument("--decode", choices=CHOICES["decode"], default=None,
                        help=f"{EXPLAINED['decode']} (default: the model card's, else mean)")
    low, high = LIMITS["temperature"]
    parser.add_argument("--temperature", type=float, default=None,
                        help=f"{EXPLAINED['temperature']}, {low}-{high} (default: the model card's, "
                             f"else {DEFAULT_TEMPERATURE})")
    parser.add_argument("--upsampling", choices=CHOICES["upsampling"], default="guided",
                        help=f"{EXPLAINED['upsampling']} (default guided)")
    parser.add_argument("--dark-limit", type=int, default=None, metavar="Y",
                        help=f"{EXPLAINED['dark_limit']} (default: the model card's)")
    parser.add_argument("--max-pixels", type=float, default=DEFAULT_MAX_PIXELS / 1e6, metavar="MP",
                        help="refuse inputs over this many megapixels, read from the file header before "
                             "decoding (default %(default)g; 0: no limit)")
    if hints:
        low, high = LIMITS["hint_weight"]
        parser.add_argument("--hint-weight", type=float, default=None, metavar="W",
                            help=f"{EXPLAINED['hint_weight']}, {low}-{high} (default: the model card's, "
                                 f"else {DEFAULT_HINT_WEIGHT:g})")
    if output:
        parser.add_argument("--format", choices=CHOICES["format"], default="png", help="output format (default png)")


def from_arguments(args, parser):
    """The Settings of parsed add_arguments options; a bad value is the parser's one-line error."""
    if args.max_pixels < 0:  # in megapixels on the command line, in pixels in Settings
        parser.error(f"--max-pixels must be 0 (no limit) or positive, got {args.max_pixels:g}")
    try:
        return Settings(decode=args.decode, temperature=args.temperature, upsampling=args.upsampling,
                        dark_limit=args.dark_limit, max_pixels=int(args.max_pixels * 1e6),
                        hint_weight=getattr(args, "hint_weight", None),
                        format=getattr(args, "format", "png"))
    except SettingsError as error:
        message = str(error)
        parser.error("--" + message.replace("_", "-", 1) if message.startswith(("dark_", "max_", "hint_"))
                     else "--" + message)
