"""``python -m bench.screenshots --out DIR``: the Train and Generate tabs after a real training, in light and
dark mode and at phone width, as PNG files to look at (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.server import AppServer

VIEWS = {"light": (1400, 1000, ""), "dark": (1400, 1000, "?__theme=dark"), "phone": (390, 844, "")}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.screenshots")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=int, default=20, help="training budget of the run shown")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = AppServer()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, (width, height, query) in VIEWS.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(server.url + query, wait_until="load")
                page.get_by_role("tab", name="Train").click()
                page.get_by_label("Time budget (seconds)").first.fill(str(args.seconds))
                page.locator("#train-button").click()
                page.locator("#train-status").get_by_text("Done").or_(
                    page.locator("#train-status").get_by_text("Stopped")
                ).first.wait_for(timeout=(args.seconds + 60) * 1000)
                page.wait_for_timeout(1000)
                page.screenshot(path=out / f"train-{name}.png", full_page=True)
                if name == "phone":  # Generate sits behind the tab bar's "more" menu at this width
                    page.close()
                    continue
                page.get_by_role("tab", name="Generate").click()
                page.locator("#generate-button").click()
                page.locator("#copied p").first.wait_for(timeout=60_000)
                page.screenshot(path=out / f"generate-{name}.png", full_page=True)
                page.close()
            browser.close()
    finally:
        server.stop()
    print(f"wrote {len(VIEWS) * 2} screenshots to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
