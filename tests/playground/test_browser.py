"""The playground in a real headless Chromium (Playwright driving Debian's chromium).

Loads the page, takes one step (the notation appears), trains a few hundred steps with
"start", pauses, checks the displayed loss fell and the pictures are drawn, resets, and saves
a screenshot; ``GLASSNET_PLAYGROUND_SCREENSHOT=docs/playground.png`` also writes it there
(the README's picture). Skips with the reason when Chromium, Playwright or Flask is missing.
"""
import os
import shutil
import threading

import pytest

pytest.importorskip("flask", reason="the playground needs Flask: pip install "
                    "'glassnet[playground]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                               "(pip install playwright)")

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and os.path.exists(p)),
                None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get "
                                "install chromium); the playground's browser test needs it")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


@pytest.fixture()
def url():
    from glassnet.playground.server import make_playground_server
    server = make_playground_server(0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.port}/"
    server.shutdown()
    server.server_close()


def _number(page, element_id):
    return float(page.inner_text(f"#{element_id}"))


def test_page_trains_and_the_displayed_loss_falls(url, tmp_path):
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1320, "height": 960})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            first = _number(page, "train-loss")
            assert 0.5 < first < 1.0                 # an untrained network: about log 2
            # inputs x₁, x₂ + the default 4 + 4 hidden neurons + the output ŷ
            assert page.locator("canvas.neuron").count() == 11

            page.click("#step")
            page.wait_for_function("document.getElementById('step-count').textContent === '1'")
            notation = page.inner_text("#notation")
            assert "z = w₁·x₁ + w₂·x₂ + b" in notation and "w₁ ← w₁ − η·∂L/∂w₁" in notation

            page.click("#start")
            page.wait_for_function(
                "Number(document.getElementById('step-count').textContent) >= 500",
                timeout=60_000)
            page.click("#pause")
            page.wait_for_function("!state.busy")
            steps = int(page.inner_text("#step-count"))
            page.wait_for_timeout(300)
            assert int(page.inner_text("#step-count")) == steps      # paused: no more steps
            last = _number(page, "train-loss")
            assert last < 0.7 * first, (first, last)
            assert float(page.inner_text("#test-acc").rstrip("%")) > 75
            colours = page.evaluate("""() => {
                const c = document.getElementById('boundary');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4 * 97) {
                    seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
                }
                return seen.size; }""")
            assert colours > 20                      # a heatmap and points, not a blank canvas
            assert page.locator("#diagram svg").count() + \
                page.locator("#diagram .placeholder").count() == 1

            shot = tmp_path / "playground.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            if os.environ.get("GLASSNET_PLAYGROUND_SCREENSHOT"):
                page.screenshot(path=os.environ["GLASSNET_PLAYGROUND_SCREENSHOT"],
                                full_page=True)

            page.click("#reset")
            page.wait_for_function("document.getElementById('step-count').textContent === '0'")
            assert _number(page, "train-loss") > last
            assert errors == []

            # a setting over the caps: the server's 400 message shows, the page keeps working
            page.fill("#widths input >> nth=0", "9")
            page.dispatch_event("#widths input >> nth=0", "change")
            page.wait_for_function("document.getElementById('message').textContent"
                                   ".includes('config.hidden[0]: expected an integer from 1 to 8')")
            page.click("#step")
            page.wait_for_function("document.getElementById('step-count').textContent === '1'")
        finally:
            browser.close()
    assert [e for e in errors if "status of 400" not in e] == []
