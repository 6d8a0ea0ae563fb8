"""Render an HTML report in headless Chromium: its layout as the browser lays it out (sections,
every figure with its drawn size) and PNG screenshots. Used by the report's headless test and by
`python scripts/headless.py REPORT.html docs/` to make the screenshots under docs/.

Chromium runs with every network feature off and a host resolver that resolves nothing, so a
report (self-contained by design) cannot reach anything; a page that tried would show as
missing images in the layout."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LAPTOP = (1366, 768)  # the most common laptop screen: the report must read at its width
TIMEOUT = 60

# appended to a copy of the page: what the browser laid out, as JSON in a <pre> that
# --dump-dom prints (figure sizes are the SVGs' drawn boxes, not their attributes)
PROBE = """<script>
(() => {
  const box = e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top + scrollY, width: r.width,
            height: r.height}; };
  const figures = [...document.querySelectorAll('[data-figure]')].map(f => {
    const svg = f.querySelector('svg');
    return {kind: f.dataset.figure, column: f.dataset.column || null,
            box: svg ? box(svg) : null,
            marks: svg ? svg.querySelectorAll('rect, polyline').length : 0};
  });
  const out = {viewport: innerWidth, width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight, title: document.title,
    sections: [...document.querySelectorAll('h2')].map(
      h => ({text: h.textContent, top: box(h).top})),
    pillars: [...document.querySelectorAll('[data-pillar]')].map(s => s.dataset.pillar),
    headline: (document.querySelector("[data-section='verdicts'] h2") || {}).textContent || null,
    figures: figures,
    broken_images: [...document.images].filter(i => !i.complete || !i.naturalWidth).length};
  const pre = document.createElement('pre');
  pre.id = 'raysynth-layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def browser() -> str | None:
    """The first Chromium on PATH, or None."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _run(args: list[str], profile: str) -> str:
    exe = browser()
    if exe is None:
        raise RuntimeError("no Chromium on PATH (" + ", ".join(BROWSERS) + "): install it from "
                           "the system packages, e.g. `sudo apt-get install chromium`")
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--no-pings", "--disable-extensions",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    done = subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"})
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def layout(html: Path, width: int = LAPTOP[0]) -> dict:
    """The page as Chromium lays it out at `width` CSS pixels (see PROBE for the fields)."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"  # a copy beside nothing: the report must be self-contained
        text = Path(html).read_text()
        page.write_text(text.replace("</body>", PROBE + "</body>") if "</body>" in text
                        else text + PROBE)
        dom = _run([f"--window-size={width},{LAPTOP[1]}", "--virtual-time-budget=3000",
                    "--dump-dom", page.as_uri()], str(Path(tmp) / "profile"))
    found = re.search(r'<pre id="raysynth-layout">(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError("the page's layout probe did not run (a script error in the page?)")
    return json.loads(_unescape(found.group(1)))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace(
        "&amp;", "&")


def screenshot(html: Path, png: Path, width: int = LAPTOP[0], height: int | None = None) -> Path:
    """A PNG of the page at `width`; `height` None takes the whole page (from its layout)."""
    height = height or int(layout(html, width)["height"])
    with tempfile.TemporaryDirectory() as tmp:
        _run([f"--window-size={width},{height}", "--virtual-time-budget=3000",
              f"--screenshot={Path(png).resolve()}", Path(html).resolve().as_uri()],
             str(Path(tmp) / "profile"))
    return Path(png)


def docs_shots(html: Path, out: Path, width: int = LAPTOP[0]) -> list[Path]:
    """Laptop-screen-sized PNGs of the report's parts for docs/: the top (verdict and scores),
    then each part from its heading down to the next, cropped from one full-page render."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    page = layout(html, width)
    with tempfile.TemporaryDirectory() as tmp:
        full = Image.open(screenshot(html, Path(tmp) / "full.png", width, int(page["height"])))
        full.load()
    cuts = [("top", 0)] + [(_slug(s["text"]), int(s["top"]) - 12) for s in page["sections"]
                           if not s["text"].startswith(("Verdict", "Scores", "Settings"))]
    ends = [top for _, top in cuts[1:]] + [full.height]
    shots = []
    for (name, top), end in zip(cuts, ends, strict=True):
        bottom = min(end, top + 2 * LAPTOP[1])  # at most two screens a part
        path = out / f"report-{name}.png"
        full.crop((0, max(top, 0), width, bottom)).convert("RGB").save(path, optimize=True)
        shots.append(path)
    return shots


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().split(":")[0].split("(")[0]).strip("-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report.html")
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/)")
    args = parser.parse_args(argv)
    for path in docs_shots(args.report, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
