"""tools/serve.py: the HTTP API through the ASGI test client, the bounded queue, shutdown on
SIGTERM, all with the shipped model on real photos."""
import asyncio
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import cv2
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, run_tool
from tests.helpers import free_port, grey_jpeg, png_bomb, start_server

pytest.importorskip("fastapi")
SKIMAGE_DATA = pathlib.Path(__import__("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient
    from colornet.serve.app import ServerSettings, create_app
    settings = ServerSettings(workers=1, queue=1, max_upload_bytes=2 * 2 ** 20,
                              scratch=tmp_path_factory.mktemp("scratch"))
    with TestClient(create_app(settings)) as test_client:
        test_client.scratch = settings.scratch
        yield test_client


def test_round_trip_equals_the_command_line_byte_for_byte(client, tmp_path):
    photo = grey_jpeg(tmp_path / "coffee.jpg")
    payload = photo.read_bytes()
    answer = client.post("/api/colorize", files={"image": ("whatever/../name.jpg", payload, "image/jpeg")})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert run_tool("use_trained_model", photo, "-o", tmp_path / "cli", "-q", "--backend", "opencv").returncode == 0
    assert answer.content == (tmp_path / "cli" / "coffee.png").read_bytes()
    result = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
    grey = cv2.imread(str(photo), cv2.IMREAD_GRAYSCALE)
    assert result.shape[:2] == grey.shape
    y = cv2.cvtColor(result, cv2.COLOR_BGR2YUV)[..., 0].astype(int)
    assert np.mean(np.abs(y - grey) <= 2) > 0.99  # the photo's own luminance
    assert np.abs(result[..., 2].astype(int) - result[..., 0]).mean() > 3  # and colour
    # Raw body, JPEG out, another temperature: the same as the command line with those settings.
    raw = client.post("/api/colorize?format=jpg&temperature=0.6&upsampling=cubic", content=payload,
                      headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.headers["content-type"] == "image/jpeg"
    assert run_tool("use_trained_model", photo, "-o", tmp_path / "cli2", "-q", "--backend", "opencv", "--format", "jpg",
                    "--temperature", "0.6", "--upsampling", "cubic").returncode == 0
    assert raw.content == (tmp_path / "cli2" / "coffee.jpg").read_bytes()
    assert not list(client.scratch.iterdir())  # nothing kept after answering


def test_every_bad_request_gets_its_status_and_a_one_line_reason(client, tmp_path):
    photo = grey_jpeg(tmp_path / "a.jpg").read_bytes()
    cases = [
        (client.post("/api/colorize", content=b"not an image at all"), 415, "not an image"),
        (client.post("/api/colorize", files={"other": ("a.txt", b"x", "text/plain")}), 415, "no image"),
        (client.post("/api/colorize", content=b"\0" * (3 * 2 ** 20)), 413, "over the limit of 2 MB"),
        (client.post("/api/colorize", content=png_bomb(tmp_path / "bomb.png").read_bytes()), 413,
         "30000×30000 is 900.0 MP, over the pixel limit of 50 MP"),
        (client.post("/api/colorize?model=nope", content=photo), 404, "no model 'nope'; models: default"),
        (client.post("/api/colorize?temperature=0", content=photo), 422, "temperature must be between"),
        (client.post("/api/colorize", data={"temperature": "warm"}, files={"image": ("a.jpg", photo)}), 422,
         "temperature must be a number"),
        (client.post("/api/colorize?format=gif", content=photo), 422, "format must be png or jpg"),
        (client.post("/api/colorize?hint_weight=2", content=photo), 422, "hint_weight must be between 0.0 and 1.0"),
        # Found from outside: a hints field nested 5,000 deep was a 500 (RecursionError in the
        # worker), a form field over 1 MB and a query that is not a number answered {"detail": …}.
        (client.post("/api/colorize", data={"hints": "[" * 5000 + "]" * 5000}, files={"image": ("a.jpg", photo)}),
         422, "hints: nested too deeply"),
        (client.post("/api/colorize", data={"hints": "x" * (2 ** 20 + 10)}, files={"image": ("a.jpg", photo)}),
         413, "form refused"),
        (client.post("/api/palette?x=left&y=2", content=photo), 422, "x: "),
    ]
    for answer, status, reason in cases:
        assert answer.status_code == status, (status, answer.text)
        message = answer.json()["error"]
        assert reason in message and "\n" not in message


def test_models_health_page_and_no_listing(client):
    assert client.get("/healthz").json() == {"ready": True}
    models = client.get("/api/models").json()
    assert models["default"] == "default"
    default = next(m for m in models["models"] if m["name"] == "default")
    assert default["family"] == "yuv64" and "data" in default
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    for path in ("/static/", "/static/..%2Fserve.py", "/static/../serve.py", "/tools/serve.py"):
        assert client.get(path).status_code == 404, path
    assert "access-control-allow-origin" not in client.get("/api/models", headers={"Origin": "http://x"}).headers
    assert client.get("/docs").status_code == 200


def test_a_full_queue_answers_503_with_retry_after(tmp_path):
    import httpx
    from colornet.serve.app import ServerSettings, create_app
    app = create_app(ServerSettings(workers=1, queue=0))
    payload = grey_jpeg(tmp_path / "big.jpg", "astronaut.png", (1600, 1600)).read_bytes()

    async def burst():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await asyncio.gather(*[client.post("/api/colorize", content=payload, timeout=120)
                                              for _ in range(4)])
    answers = asyncio.run(burst())
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["retry-after"] == "2" and "busy" in busy.json()["error"]


def children(pid):
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_sigterm_finishes_requests_in_flight_and_leaves_no_worker(tmp_path):
    port = free_port()
    server = start_server(port, "--workers", "1")
    try:
        workers = children(server.pid)
        assert workers, "no worker process"
        payload = grey_jpeg(tmp_path / "a.jpg", "astronaut.png", (1200, 1200)).read_bytes()
        results = []

        def request():
            query = urllib.request.Request(f"http://127.0.0.1:{port}/api/colorize", data=payload, method="POST")
            try:
                with urllib.request.urlopen(query, timeout=60) as answer:
                    results.append(answer.status)
            except urllib.error.HTTPError as error:
                results.append(error.code)
        thread = threading.Thread(target=request)
        thread.start()
        time.sleep(0.3)
        server.send_signal(signal.SIGTERM)
        thread.join(60)
        assert results and results[0] in (200, 503), results
        # uvicorn shuts down gracefully, then re-raises the signal: exit by SIGTERM, as a shell expects.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
        time.sleep(0.5)
        assert not [pid for pid in workers if pathlib.Path(f"/proc/{pid}").exists()
                    and "Z" not in pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]]
    finally:
        if server.poll() is None:
            server.kill()


def test_public_host_warns_and_help_lists_the_options():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools/serve.py"), "--help"], capture_output=True, text=True)
    for option in ("--host", "--port", "--model", "--workers", "--max-upload-mb", "--max-pixels", "--cors"):
        assert option in result.stdout
    bad = subprocess.run([sys.executable, str(REPO_ROOT / "tools/serve.py"), "--model", "nope", "--host", "0.0.0.0",
                          "--port", str(free_port())], capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert bad.returncode == 2
    assert "anyone who can reach this machine" in bad.stderr and "nope: no such model" in bad.stderr


def resident_mb():
    return int(pathlib.Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def test_distinct_temperatures_leave_a_workers_memory_as_it_was(tmp_path):
    """A client sweeping ?temperature= must not load a net per value: the worker's cache holds one
    net per model, and each request's settings apply to it."""
    import gc
    from colornet.colorize.pipeline import Colorizer, encode
    from colornet.colorize.models import Model
    from colornet.colorize.settings import Settings
    from colornet.serve import worker
    payload = grey_jpeg(tmp_path / "a.jpg", size=(96, 64)).read_bytes()
    worker._worker_colorizers.clear()
    assert worker.colorize_upload(None, "default", Settings(max_pixels=10 ** 6), payload)[0] == 200
    gc.collect()
    before = resident_mb()
    answers = [worker.colorize_upload(None, "default", Settings(temperature=0.2 + 0.02 * step, max_pixels=10 ** 6,
                                                                 upsampling="guided" if step % 2 == 0 else "cubic"),
                                       payload) for step in range(50)]
    gc.collect()
    assert all(status == 200 for status, _ in answers)
    assert resident_mb() - before < 15, f"{resident_mb() - before:.0f} MB more after 50 temperatures"
    assert len(worker._worker_colorizers) == 1
    # The settings still apply per request: the same bytes as a colorizer made for them.
    photo = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_UNCHANGED)
    fresh = Colorizer(Model.resolve("default"), settings=Settings(temperature=0.2 + 0.02 * 7, upsampling="cubic",
                                                                   max_pixels=0))
    assert answers[7][1] == encode(fresh.colorize([photo])[0], "png")
    assert answers[7][1] != answers[8][1]


def test_the_command_line_baseline_counts_the_photos_it_coloured(tmp_path):
    """bench_serve's baseline: a path given twice is coloured once, so the rate is what was written."""
    from colornet.benchmark.rates import command_line_rate
    first, second = grey_jpeg(tmp_path / "a.jpg", size=(64, 48)), grey_jpeg(tmp_path / "b.jpg", size=(64, 48))
    rate, written = command_line_rate([first, first, second], tmp_path / "out")
    assert written == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    assert rate > 0


def test_hints_through_the_api_equal_the_command_line_byte_for_byte(client, tmp_path):
    photo = grey_jpeg(tmp_path / "coffee.jpg", size=(300, 200))
    hints = [{"x": 150, "y": 100, "color": "#2a8f3c"}, {"x": 40, "y": 30, "color": "#c03020", "size": 10}]
    (tmp_path / "hints.json").write_text(__import__("json").dumps(hints))
    answer = client.post("/api/colorize", files={"image": ("coffee.jpg", photo.read_bytes(), "image/jpeg")},
                         data={"hints": (tmp_path / "hints.json").read_text()})
    assert answer.status_code == 200
    assert run_tool("use_trained_model", photo, "--hints", tmp_path / "hints.json", "-o", tmp_path / "cli",
                    "--backend", "opencv", "-q").returncode == 0  # the server's workers run the default: OpenCV
    assert answer.content == (tmp_path / "cli" / "coffee.png").read_bytes()
    # The weight of the net's colours beside the hints (default: the card's): the same setting and
    # bytes as --hint-weight; 0, Levin's propagation alone, is another result.
    weighted = client.post("/api/colorize", files={"image": ("coffee.jpg", photo.read_bytes(), "image/jpeg")},
                           data={"hints": (tmp_path / "hints.json").read_text(), "hint_weight": "0"})
    assert run_tool("use_trained_model", photo, "--hints", tmp_path / "hints.json", "--hint-weight", "0", "-o",
                    tmp_path / "cli_weighted", "--backend", "opencv", "-q").returncode == 0
    assert weighted.status_code == 200 and weighted.content != answer.content
    assert weighted.content == (tmp_path / "cli_weighted" / "coffee.png").read_bytes()
    bad = client.post("/api/colorize?hints=" + urllib.parse.quote('[{"x": 1000, "y": 1, "color": "#000000"}]'),
                      content=photo.read_bytes(), headers={"content-type": "image/jpeg"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "hints: point 1: (1000, 1) is outside the 300×200 photo"


def test_the_palette_answers_nine_colours_for_a_point(client, tmp_path):
    photo = grey_jpeg(tmp_path / "coffee.jpg", size=(300, 200)).read_bytes()
    answer = client.post("/api/palette?x=150&y=100", content=photo, headers={"content-type": "image/jpeg"})
    assert answer.status_code == 200
    colours = answer.json()["colors"]
    assert len(colours) == 9 and all(c.startswith("#") and len(c) == 7 for c in colours)
    outside = client.post("/api/palette?x=500&y=100", content=photo, headers={"content-type": "image/jpeg"})
    assert outside.status_code == 422 and "outside the 300×200 photo" in outside.json()["error"]

