"""``python -m bench.screenshots --out DIR``: the first screen, then every tab after a real training, in light and
dark mode on a 1366×768 laptop, at phone width (390×844) and on a projector (1280×720 in presenter mode), as PNG
files to look at (Playwright driving Debian's Chromium). The README's first-screen pictures are
``first-<view>.png`` from ``python -m bench.screenshots --out assets/screenshots --first-only``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.server import AppServer

# name -> (width, height, device scale, dark, query)
VIEWS = {
    "light": (1366, 768, 1, False, ""),
    "dark": (1366, 768, 1, True, ""),
    "phone": (390, 844, 2, False, ""),
    "phone-dark": (390, 844, 2, True, ""),
    "projector": (1280, 720, 1, False, "?present=1"),
}
TABS = ("Learn", "Corpus", "Train", "Generate", "Guess", "Inside")
ROOM_URL = "http://lab.example:7860/"  # the address the projector's Join chip shows (never opened)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _train(page, seconds: int, presenter: bool) -> None:
    page.get_by_role("tab", name="Train").click()
    if not presenter:  # (presenter mode hides Train's knobs: there the run is stopped after its first samples)
        page.locator("#train-settings").get_by_text("Settings").first.click()  # a closed section
        page.get_by_label("Time budget (seconds)").first.fill(str(seconds))
        page.get_by_label("Time budget (seconds)").first.press("Enter")
    page.locator("#train-button").click()
    status = page.locator("#train-status")
    if presenter:
        status.get_by_text("best validation").wait_for(timeout=60_000)
        page.wait_for_function("() => /Step ([2-9]\\d|\\d{3})/.test(document.querySelector('#train-status').innerText)")
        page.locator("#stop-button").click()
    status.get_by_text("Done").or_(status.get_by_text("Stopped")).first.wait_for(timeout=(seconds + 60) * 1000)
    page.locator("#it-writes .copied-text").wait_for(timeout=60_000)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.screenshots")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=int, default=10, help="training budget of the run shown")
    parser.add_argument("--views", default=",".join(VIEWS), help="which of " + ", ".join(VIEWS))
    parser.add_argument("--first-only", action="store_true", help="only the first screen of each view")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server, shots = AppServer(CHARLSTM_PUBLIC_URL=ROOM_URL), 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name in args.views.split(","):
                width, height, scale, dark, query = VIEWS[name]
                page = browser.new_page(
                    viewport={"width": width, "height": height},
                    device_scale_factor=scale,
                    color_scheme="dark" if dark else "light",
                )
                page.goto(server.url + query, wait_until="load")
                page.locator("#learn-summary").get_by_text("Character 1 of").first.wait_for(timeout=30_000)
                page.wait_for_function("() => document.fonts.status === 'loaded'")
                page.screenshot(path=out / f"first-{name}.png")  # what a newcomer sees, before scrolling
                shots += 1
                if args.first_only:
                    page.close()
                    continue
                _train(page, args.seconds, bool(query))
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
