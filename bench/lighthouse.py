"""Lighthouse (mobile profile) on the pages a neighbour uses most, logged in.

    python -m bench.lighthouse            # the demo data, SQLite in a temporary directory

Starts a real server with the demo data (`voisinage serve --demo`), logs in as
the demo's Claire, and runs npm's `lighthouse` with Debian's Chromium
(CHROME_PATH, headless) on /feed, a post, /events, an event and /messages, the
session cookie passed with --extra-headers. Prints per page the performance,
accessibility, best-practices and SEO scores and the cumulative layout shift,
then each audit that costs points. Lighthouse is installed with npm into
~/.cache/voisinage-tools/lighthouse the first time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench.http import DEMO_EMAIL, DEMO_PASSWORD, Server

TOOLS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voisinage-tools" / "lighthouse"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def _lighthouse() -> Path:
    if not LIGHTHOUSE.exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "lighthouse"], check=True)
    return LIGHTHOUSE


def _logged_in(url: str) -> tuple[str, dict[str, str]]:
    """The session cookie, and the demo's pages whose address has an id."""
    with httpx.Client(base_url=url, follow_redirects=True) as client:
        client.get("/login")
        answer = client.post(
            "/login",
            data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "_csrf_token": client.cookies["csrftoken"]},
        )
        answer.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        post = re.search(r'href="(/posts/\d+)"', client.get("/feed").text)
        event = _organise(client)
    assert post, "the demo has posts in Claire's quartier"
    return cookie, {
        "feed": "/feed",
        "post": post.group(1),
        "events": "/events",
        "event": event,
        "messages": "/messages",
    }


def _organise(client: httpx.Client) -> str:
    """The demo has no event: Claire organises one, through the form, as a neighbour does."""
    starts = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=3)
    fields = {
        "title": "Repas de quartier",
        "body": "Chacun apporte un plat, les voisins du square apportent les tables.",
        "place": "Square Darcy",
        "starts_at": starts.strftime("%Y-%m-%dT19:00"),
        "ends_at": starts.strftime("%Y-%m-%dT22:00"),
        "capacity": "30",
        "_csrf_token": client.cookies["csrftoken"],
    }
    answer = client.post("/events/new", data=fields, files={"photo": ("", b"", "application/octet-stream")})
    answer.raise_for_status()
    assert re.search(r"/posts/\d+$", str(answer.url)), answer.url
    return answer.url.path


def _audit(url: str, cookie: str) -> dict:
    run = subprocess.run(
        [
            str(_lighthouse()),
            url,
            "--output=json",
            "--output-path=stdout",
            "--quiet",
            "--form-factor=mobile",
            f"--only-categories={','.join(CATEGORIES)}",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
            f"--extra-headers={json.dumps({'Cookie': cookie})}",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CHROME_PATH": CHROME},
        timeout=300,
        check=True,
    )
    return json.loads(run.stdout)


def _costs(report: dict) -> list[str]:
    """The audits that cost points, by category: those of the score with a score below 1."""
    lines = []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] > 0 and audit.get("score") is not None and audit["score"] < 1:
                shown = audit.get("displayValue", "")
                lines.append(f"    {category}: {ref['id']} ({audit['score']:.2f}) {audit['title']} {shown}".rstrip())
                # What the audit found (a console error's text, a slow resource): enough to explain it.
                for item in (audit.get("details") or {}).get("items", [])[:3]:
                    found = " ".join(str(item[k]) for k in ("source", "description", "url") if item.get(k))
                    if found:
                        lines.append(f"      - {found[:200]}")
    # What the blocking time is made of: the main thread's work, by script.
    scripts = sorted(report["audits"]["bootup-time"]["details"].get("items", []), key=lambda i: -i["total"])[:3]
    work = report["audits"]["mainthread-work-breakdown"].get("displayValue", "")
    lines.append(
        f"    main thread {work}; scripts: "
        + ", ".join(f"{i['url'].rsplit('/', 1)[-1] or i['url']} {i['total']:.0f} ms" for i in scripts)
    )
    return lines


def main() -> None:
    _lighthouse()
    with tempfile.TemporaryDirectory(prefix="voisinage-lighthouse-") as folder:
        server = Server(Path(folder), None, demo=True)
        try:
            cookie, pages = _logged_in(server.url)
            print(f"{'page':<10} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5} {'CLS':>6}")
            details = []
            for name, path in pages.items():
                report = _audit(server.url + path, cookie)
                scores = [round(report["categories"][c]["score"] * 100) for c in CATEGORIES]
                cls = report["audits"]["cumulative-layout-shift"]["numericValue"]
                print(f"{name:<10} " + " ".join(f"{s:>5}" for s in scores) + f" {cls:>6.3f}", flush=True)
                details.append((f"{name} ({path})", _costs(report)))
        finally:
            server.stop()
    print("\nAudits that cost points:")
    for name, lines in details:
        print(f"  {name}:")
        print("\n".join(lines) if lines else "    none")


if __name__ == "__main__":
    main()
