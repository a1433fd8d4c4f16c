"""The report page in a real browser: headless Chromium loads index.html, every image decodes
(naturalWidth > 0), and a full-page screenshot is taken. Skips where no Chromium is installed
(Debian: apt-get install chromium; .ci/run installs it)."""

import re
import shutil
import subprocess

import pytest
from tests.analysis.test_report import full_report  # noqa: F401  (a fixture, shared)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")

# Added to a copy of the page: after load, counts the images and those that did not decode.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0));
  document.body.setAttribute('data-probe', imgs.length + ' images, ' + broken.length + ' broken');
});
</script>"""


def chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def page(full_report):
    """The report of a sim sweep over H100/H20/RTX-4090 with measured rows: every chart drawn."""
    return full_report / "index.html"


def test_every_image_loads(page, tmp_path):
    html = page.read_text()
    expected = len(re.findall(r"<img ", html))
    assert expected == 8  # every chart of a report with all optional columns
    probe = page.with_name("probe.html")
    probe.write_text(html.replace("</body>", PROBE + "</body>"))
    done = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-probe="(\d+) images, (\d+) broken"', done.stdout)
    assert found, "the probe did not run: " + done.stdout[:500]
    assert (int(found.group(1)), int(found.group(2))) == (expected, 0)


def test_screenshot_shows_the_page(page, tmp_path):
    shot = tmp_path / "page.png"
    done = chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,12000", f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[1] == 1280
    # charts are drawn in colour: a blank or text-only page has (almost) no saturated pixels
    rgb = pixels[..., :3]
    saturated = ((rgb.max(axis=2) - rgb.min(axis=2)) > 0.3).mean()
    assert saturated > 0.005, saturated
