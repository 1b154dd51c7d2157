"""One settings object: the same ranges and defaults for the command line, the server, the page
and the library; nothing defaulted or checked a second time elsewhere."""
import pathlib
import re

import pytest

from colornet.colorize import settings
from colornet.colorize.models import Model
from colornet.colorize.pipeline import Colorizer
from colornet.colorize.settings import Settings, SettingsError
from tests.conftest import run_tool

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("changes, message", [
    ({"temperature": 0.005}, "temperature must be between 0.01 and 5.0"),
    ({"temperature": 6}, "temperature must be between 0.01 and 5.0"),
    ({"decode": "mode"}, "decode must be mean or median or argmax"),
    ({"upsampling": "nearest"}, "upsampling must be guided or cubic"),
    ({"format": "gif"}, "format must be png or jpg"),
    ({"hint_weight": -1}, "hint_weight must be between"),
    ({"max_pixels": -1}, "max_pixels must be at least 0"),
])
def test_one_check_of_each_setting(changes, message):
    with pytest.raises(SettingsError, match=message):
        Settings(**changes)
    with pytest.raises(SettingsError, match=message):
        Colorizer(Model.resolve("default"), "opencv").with_settings(**changes)


def test_the_command_line_and_the_library_share_the_range():
    result = run_tool("use_trained_model", "--temperature", "0.005", "-o", "/nonexistent")
    assert result.returncode == 2 and "--temperature must be between 0.01 and 5.0" in result.stderr


def test_the_model_card_fills_what_is_left_open():
    model = Model.resolve("default")
    colorizer = Colorizer(model, "opencv")
    assert colorizer.temperature == (model.temperature or settings.DEFAULT_TEMPERATURE)
    assert colorizer.dark_limit == model.dark_limit and colorizer.method == (model.method or "mean")
    other = colorizer.with_settings(temperature=0.6, upsampling="cubic")
    assert (other.temperature, other.guided, colorizer.guided) == (0.6, False, True)
    assert other.with_settings(temperature=None).temperature == colorizer.temperature  # the model's own again


def test_what_the_page_is_served_is_the_settings_ranges():
    described = settings.describe()
    assert described["temperature"]["min"] == settings.LIMITS["temperature"][0]
    assert described["format"]["choices"] == ["png", "jpg"]
    assert described["temperature"]["default"] is None  # the model's own


def test_no_default_temperature_is_written_twice():
    """0.38 is written once, in colorize/settings.py (model cards and docs aside)."""
    found = [str(path.relative_to(REPO_ROOT)) for folder in ("colornet", "tools", "bench")
             for path in (REPO_ROOT / folder).rglob("*") if path.suffix in (".py", ".js", ".html")
             and re.search(r"(?<![\d.])0\.38(?!\d)", path.read_text())]
    assert found == ["colornet/colorize/settings.py"], found


def test_the_hint_weight_is_the_model_cards_unless_one_is_given():
    model = Model.resolve("default")
    colorizer = Colorizer(model, "opencv")
    assert model.hint_weight and colorizer.hint_weight == model.hint_weight
    levin = colorizer.with_settings(hint_weight=0.0)
    assert levin.hint_weight == 0.0 and levin.with_settings(hint_weight=None).hint_weight == model.hint_weight
    assert Colorizer(Model.resolve("lite"), "opencv").hint_weight == settings.DEFAULT_HINT_WEIGHT  # no hint net
