"""Render what executed notebooks show (tables, side-by-side views, plots) to image files.

Notebooks are committed without outputs, so to *look* at what they render, execute them first
(CI's way: tiny models, a few documents) and keep the executed copies, then run this script::

    SUMM_NOTEBOOK_OUTPUTS=/tmp/summ-nb python -m pytest tests/test_notebooks.py -k executes
    python tests/tools/render_views.py /tmp/summ-nb /tmp/summ-views

For every executed notebook it writes, into ``OUT/NN_topic/``:

* ``cellCC-K.html``: each HTML output (a ``summ.display`` view) as a standalone page, and
  ``cellCC-K.png``, its screenshot by headless Chromium (skipped when Chromium is missing);
* ``cellCC-K.png``: each PNG output (plots) as it is;
* ``cellCC-K.md``: each Markdown output (report tables), with a page and a screenshot of it
  when ``markdown-it-py`` (a jupytext dependency) is installed.

``CC`` is the cell's position in the executed notebook (the injected parameters cell counts).
A notebook executed with real models (e.g. ``jupyter nbconvert --execute --to notebook``) can be
rendered the same way. Needs Chromium for the screenshots (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
from pathlib import Path

# Wide enough for three text columns side by side, tall enough for the longest view; the
# screenshot is then trimmed to its content.
WINDOW = (1200, 4000)


def _page(fragment: str, title: str) -> str:
    """A complete UTF-8 HTML page holding the fragment (for browsers and screenshots)."""
    import html

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n'
        "<body style=\"font-family:system-ui,'Segoe UI','DejaVu Sans',sans-serif;"
        'margin:16px;font-size:15px;">\n'
        f"{fragment}\n</body>\n</html>\n"
    )


def _markdown_html(text: str) -> str | None:
    """Markdown as HTML (tables included) with markdown-it, which jupytext brings; None without it."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return None
    style = "<style>table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px}</style>"
    return style + MarkdownIt("commonmark").enable("table").render(text)


def _screenshot(chromium: str, page: Path, png: Path) -> None:
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--screenshot={png}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    _trim(png)


def _trim(png: Path, margin: int = 16) -> None:
    """Cut the white space below (and right of) the content of a screenshot."""
    from PIL import Image, ImageChops  # pillow comes with matplotlib

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).getbbox()
    if box:
        right = min(rgb.width, box[2] + margin)
        bottom = min(rgb.height, box[3] + margin)
        rgb.crop((0, 0, right, bottom)).save(png)


def render(executed: Path, out: Path, chromium: str | None) -> list[Path]:
    """Write every view, plot and Markdown output of the notebooks in ``executed`` under ``out``."""
    import nbformat

    written: list[Path] = []
    for path in sorted(executed.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        folder = out / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for c, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for k, output in enumerate(cell.get("outputs", [])):
                data = output.get("data", {})
                stem = folder / f"cell{c:02d}-{k}"
                if "image/png" in data:
                    png = stem.with_suffix(".png")
                    png.write_bytes(base64.b64decode(data["image/png"]))
                    written.append(png)
                elif "text/html" in data:
                    page = stem.with_suffix(".html")
                    page.write_text(_page(data["text/html"], f"{path.stem} cell {c}"), encoding="utf-8")
                    written.append(page)
                    if chromium:
                        _screenshot(chromium, page, stem.with_suffix(".png"))
                        written.append(stem.with_suffix(".png"))
                elif "text/markdown" in data:
                    md = stem.with_suffix(".md")
                    md.write_text(data["text/markdown"], encoding="utf-8")
                    written.append(md)
                    rendered = _markdown_html(data["text/markdown"])
                    if rendered is not None:
                        page = stem.with_suffix(".html")
                        page.write_text(_page(rendered, f"{path.stem} cell {c}"), encoding="utf-8")
                        written.append(page)
                        if chromium:
                            _screenshot(chromium, page, stem.with_suffix(".png"))
                            written.append(stem.with_suffix(".png"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executed", type=Path, help="folder of executed notebooks (SUMM_NOTEBOOK_OUTPUTS)")
    parser.add_argument("out", type=Path, help="where the pages and images go")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: chromium or google-chrome on PATH)")
    args = parser.parse_args(argv)
    if not any(args.executed.glob("*.ipynb")):
        parser.error(f"{args.executed}: no executed notebooks; run the notebook tests with SUMM_NOTEBOOK_OUTPUTS set")
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        print("no Chromium found: writing HTML pages without screenshots", file=sys.stderr)
    written = render(args.executed, args.out, chromium)
    print(f"{len(written)} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
