"""``python -m bench.screenshots --out DIR``: every tab in light and dark mode, at phone width and on a projector
(1024×768 at 150%), after a real training, as PNG files to look at (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.server import AppServer

# name -> (width, height, device scale, dark)
VIEWS = {
    "light": (1400, 900, 1, False),
    "dark": (1400, 900, 1, True),
    "phone": (390, 844, 2, False),
    "phone-dark": (390, 844, 2, True),
    "projector": (683, 512, 1.5, False),  # 1024×768 at 150%: the page lays out at 683 px
}
TABS = ("Learn", "Corpus", "Train", "Generate", "Guess", "Inside")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _train(page, seconds: int) -> None:
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Time budget (seconds)").first.fill(str(seconds))
    page.get_by_label("Time budget (seconds)").first.press("Enter")
    page.locator("#train-button").click()
    status = page.locator("#train-status")
    status.get_by_text("Done").or_(status.get_by_text("Stopped")).first.wait_for(timeout=(seconds + 60) * 1000)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.screenshots")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=int, default=10, help="training budget of the run shown")
    parser.add_argument("--views", default=",".join(VIEWS), help="which of " + ", ".join(VIEWS))
    parser.add_argument("--query", default="", help="appended to the page's address, e.g. '?present=1'")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server, shots = AppServer(), 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name in args.views.split(","):
                width, height, scale, dark = VIEWS[name]
                page = browser.new_page(
                    viewport={"width": width, "height": height},
                    device_scale_factor=scale,
                    color_scheme="dark" if dark else "light",
                )
                page.goto(server.url + args.query, wait_until="load")
                page.locator("#learn-summary").get_by_text("Character 1 of").first.wait_for(timeout=30_000)
                page.screenshot(path=out / f"learn-{name}.png")  # what shows above the fold
                _train(page, args.seconds)
                for tab in TABS:
                    page.get_by_role("tab", name=tab).click()
                    if tab == "Generate":
                        page.locator("#generate-button").click()
                        page.locator("#copied p").first.wait_for(timeout=60_000)
                    if tab == "Guess":  # a game a few characters in: tries, who won where, the tally
                        page.locator("#game-start").click()
                        page.locator("#game-board .cursor").wait_for(timeout=60_000)
                        for key in "etaoinsh":
                            page.locator("#game-guess textarea").press(key)
                        page.locator("#game-tally tr").first.wait_for()
                    page.screenshot(path=out / f"{tab.split()[0].lower()}-{name}-full.png", full_page=True)
                    shots += 1
                page.close()
            browser.close()
    finally:
        server.stop()
    print(f"wrote {shots} screenshots to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
