"""The page in a real browser: headless Chromium (Debian's chromium + chromium-driver, through
Selenium) uploads a photo through the file input and gets it back in colour."""
import contextlib
import json
import pathlib
import shutil

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import free_port, grey_jpeg, start_server

pytest.importorskip("selenium")
pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None or shutil.which("chromium") is None,
                                reason="needs Debian's chromium and chromium-driver (make setup)")

# Reads the result image's pixels through a canvas: its size and how far from grey it is.
RESULT_PIXELS = """
const image = document.querySelector('.card.done .after');
const canvas = document.createElement('canvas');
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(image, 0, 0);
const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
let chroma = 0;
for (let i = 0; i < data.length; i += 4) chroma += Math.abs(data[i] - data[i + 2]);
return [image.naturalWidth, image.naturalHeight, chroma / (data.length / 4)];
"""


@contextlib.contextmanager
def page_with_a_photo(tmp_path, photo=None):
    """Headless Chromium on the page of a fresh server (1 worker), the photo (default coffee.png)
    uploaded and coloured (or failed): yields the browser."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    photo = photo or grey_jpeg(tmp_path / "coffee.jpg")
    port = free_port()
    server = start_server(port, "--workers", "1")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#model option"))
        browser.find_element(By.ID, "files").send_keys(str(photo))
        WebDriverWait(browser, 90).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".card.done, .card.failed"))
        yield browser
    finally:
        browser.quit()
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.slow  # Chromium
def test_the_page_colours_an_uploaded_photo(tmp_path):
    from selenium.webdriver.common.by import By
    with page_with_a_photo(tmp_path) as browser:
        assert not browser.find_elements(By.CSS_SELECTOR, ".card.failed"), \
            browser.find_element(By.CSS_SELECTOR, ".card .state").text
        width, height, chroma = browser.execute_script(RESULT_PIXELS)
        assert (width, height) == (600, 400)  # coffee.png: the photo's own size
        assert chroma > 3, chroma
        assert browser.find_element(By.ID, "progress").text == "1 of 1 done"
        assert browser.find_element(By.CSS_SELECTOR, ".card .download").get_attribute("download") == \
            "coffee-colorized.png"
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, errors
        browser.save_screenshot(str(tmp_path / "serve-page.png"))
        assert (tmp_path / "serve-page.png").stat().st_size > 10_000


# The result's mean U, V (BT.601, centred) and luma in a small square around a photo pixel.
CHROMA_NEAR = """
const [x, y] = arguments;
const image = document.querySelector('.card.done .after');
const canvas = document.createElement('canvas');
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext('2d');
context.drawImage(image, 0, 0);
const data = context.getImageData(x - 3, y - 3, 7, 7).data;
let u = 0, v = 0, lumaSum = 0;
for (let i = 0; i < data.length; i += 4) {
  const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
  const luma = 0.299 * r + 0.587 * g + 0.114 * b;
  u += 0.492 * (b - luma); v += 0.877 * (r - luma); lumaSum += luma;
}
return [u / 49, v / 49, lumaSum / 49];
"""


@pytest.mark.slow  # Chromium
def test_a_hint_placed_on_the_page_changes_the_colour_near_it(tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    with page_with_a_photo(tmp_path) as browser:
        before = browser.execute_script(CHROMA_NEAR, 300, 200)
        browser.find_element(By.CSS_SELECTOR, ".card .hint-mode").click()
        image = browser.find_element(By.CSS_SELECTOR, ".card.done .after")
        # The photo's pixel (300, 200) is its middle: click there.
        ActionChains(browser).move_to_element(image).click().perform()
        WebDriverWait(browser, 60).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".card .swatch")) == 9)
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered"))
        assert len(browser.find_elements(By.CSS_SELECTOR, ".card .dot")) == 1
        rendered = browser.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered")
        # A free colour: a clear blue, far from anything the net would put on coffee.
        browser.execute_script("const p = document.querySelector('.card .picker'); p.value = '#2050d0';"
                               "p.dispatchEvent(new Event('change'));")
        WebDriverWait(browser, 60).until(
            lambda b: b.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered") != rendered)
        after = browser.execute_script(CHROMA_NEAR, 300, 200)
        blue = (0.492 * (208 - (0.299 * 32 + 0.587 * 80 + 0.114 * 208)), 0.877 * (32 - (0.299 * 32 + 0.587 * 80 + 0.114 * 208)))
        # Towards it, as far as the photo's own luminance there lets a blue that strong go: the
        # result keeps the photo's luminance, so the chroma it can show is the blue fitted into
        # sRGB at that luminance (colour/gamut.py).
        import numpy as np
        from colornet.colour.gamut import uv_in_gamut
        fitted = uv_in_gamut(np.uint8([[round(after[2])]]), np.uint8([[np.rint(np.array(blue) + 128)]]))[0, 0] - 128.0
        distance = lambda uv: ((uv[0] - fitted[0]) ** 2 + (uv[1] - fitted[1]) ** 2) ** 0.5  # noqa: E731
        assert distance(after) < 0.7 * distance(before), (before, after, blue, fitted)
        state = browser.find_element(By.CSS_SELECTOR, ".card .hint-state").text
        assert state.startswith("1 point(s)"), state
        points = json.loads(browser.execute_script(
            "return fetch(document.querySelector('.card .hints-json').href).then(r => r.text())"))
        # The point is where the click was, in the photo's own pixels (x right, y down): the
        # middle of the 600×400 photo, so a swapped x and y or a display-to-photo scale left out
        # would put it elsewhere.
        assert len(points) == 1 and points[0]["color"].lower() == "#2050d0", points
        assert abs(points[0]["x"] - 300) <= 3 and abs(points[0]["y"] - 200) <= 3, points


# The result image as a PNG data URL (its own pixels, read through a canvas).
RESULT_PNG = """
const image = document.querySelector('.card.done .after');
const canvas = document.createElement('canvas');
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
canvas.getContext('2d').drawImage(image, 0, 0);
return canvas.toDataURL('image/png');
"""
# Where photo pixel (x, y) is on the page, from the image's centre (Selenium's offsets).
OFFSET_OF = """
const [x, y] = arguments;
const image = document.querySelector('.card.done .after');
const box = image.getBoundingClientRect();
return [x * box.width / image.naturalWidth - box.width / 2, y * box.height / image.naturalHeight - box.height / 2];
"""
MOOSE = REPO_ROOT / "data/samples/moose.jpg"
# Drawn by hand over the photo (polygons, 2026-12-06): 255 the moose's body and head, 128 its
# antlers and a 7-pixel band around it (neither inside nor outside), 0 the rest.
MOOSE_MASK = pathlib.Path(__file__).with_name("moose-mask.png")


def _result_chroma(browser):
    import base64
    import cv2
    import numpy as np
    payload = base64.b64decode(browser.execute_script(RESULT_PNG).split(",", 1)[1])
    bgr = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[..., 1:].astype(np.float64)


@pytest.mark.slow  # Chromium
def test_one_click_on_the_moose_colours_the_moose_more_than_its_surroundings(tmp_path):
    """ideepcolor's one-click behaviour through the page: a brown point on the moose's chest
    shifts the colour inside the moose at least twice as much as outside it (the default
    model's hint net; Levin's propagation alone spreads it over the grass as much)."""
    import cv2
    import numpy as np
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    mask = cv2.imread(str(MOOSE_MASK), cv2.IMREAD_GRAYSCALE)
    with page_with_a_photo(tmp_path, MOOSE) as browser:
        before = _result_chroma(browser)
        assert before.shape[:2] == mask.shape
        browser.find_element(By.CSS_SELECTOR, ".card .hint-mode").click()
        image = browser.find_element(By.CSS_SELECTOR, ".card.done .after")
        dx, dy = browser.execute_script(OFFSET_OF, 255, 230)
        ActionChains(browser).move_to_element_with_offset(image, round(dx), round(dy)).click().perform()
        WebDriverWait(browser, 60).until(lambda b: b.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered"))
        rendered = browser.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered")
        browser.execute_script("const p = document.querySelector('.card .picker'); p.value = '#784b28';"
                               "p.dispatchEvent(new Event('change'));")
        WebDriverWait(browser, 60).until(
            lambda b: b.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-rendered") != rendered)
        points = json.loads(browser.execute_script(
            "return fetch(document.querySelector('.card .hints-json').href).then(r => r.text())"))
        assert len(points) == 1 and abs(points[0]["x"] - 255) <= 3 and abs(points[0]["y"] - 230) <= 3, points
        shift = np.linalg.norm(_result_chroma(browser) - before, axis=2)
    inside, outside = shift[mask == 255].mean(), shift[mask == 0].mean()
    assert inside >= 2 * outside and inside > 2, (inside, outside)
