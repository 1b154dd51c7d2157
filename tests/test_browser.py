"""The page in a real browser: headless Chromium (Debian's chromium + chromium-driver, through
Selenium) uploads a photo through the file input and gets it back in colour."""
import shutil

import pytest

from tests.test_server import free_port, grey_jpeg, start_server

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


@pytest.mark.slow  # Chromium
def test_the_page_colours_an_uploaded_photo(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    photo = grey_jpeg(tmp_path / "coffee.jpg")
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
    finally:
        browser.quit()
        server.terminate()
        server.wait(timeout=60)
