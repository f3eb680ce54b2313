"""A neighbour with only a text browser: Debian's lynx logs in, reads the
quartier, opens an annonce and replies, through the same forms as everyone
(plain HTML forms, no script). lynx sends what a form sends; the server it
talks to is a real process (tests/server.py). lynx asks for English pages
(its Accept-Language), so this neighbour reads Voisinage in English."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.factories import PASSWORD
from tests.factories_posts import make_post, neighbours
from tests.server import ServerProcess

pytestmark = pytest.mark.skipif(
    shutil.which("lynx") is None, reason="Debian's lynx is not installed (.ci/test installs it)"
)


class Lynx:
    """One lynx user: its own cookie jar, each page read as lynx renders it.

    Each step is a lynx process of its own, and lynx saves only cookies that
    have an expiry date: the form token's cookie, kept for the browser's
    session, is written into the jar the way lynx keeps it in memory."""

    def __init__(self, base: str, folder: Path) -> None:
        self.base = base
        self.jar = jar = folder / "cookies"
        jar.touch()
        # Debian's lynx.cfg keeps cookies for one run only (PERSISTENT_COOKIES:FALSE).
        config = folder / "lynx.cfg"
        config.write_text("INCLUDE:/etc/lynx/lynx.cfg\nPERSISTENT_COOKIES:TRUE\n")
        self.options = [
            f"-cfg={config}",
            "-accept_all_cookies",
            f"-cookie_file={jar}",
            f"-cookie_save_file={jar}",
            "-display_charset=utf-8",
            "-width=100",
        ]

    def _run(self, path: str, *mode: str, form: dict | None = None) -> str:
        command = ["lynx", *self.options, *mode, self.base + path]
        data = urlencode(form) + "\n---\n" if form is not None else None
        if form is not None:
            command.insert(-1, "-post_data")
        answer = subprocess.run(command, input=data, capture_output=True, text=True, timeout=60)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        return answer.stdout

    def read(self, path: str) -> str:
        """The page as lynx shows it, its links listed at the end."""
        return self._run(path, "-dump")

    def token(self, path: str) -> str:
        """The form token of a page's form, as lynx would send it back."""
        page = self._run(path, "-mime_header")
        cookie = re.search(r"^Set-Cookie: csrftoken=([^;\s]+)", page, re.M | re.I)
        if cookie:
            host = urlsplit(self.base).hostname
            with self.jar.open("a") as jar:
                jar.write(f"{host}\tFALSE\t/\tFALSE\t{int(time.time()) + 3600}\tcsrftoken\t{cookie.group(1)}\n")
        return re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)

    def submit(self, path: str, form: dict, *, from_page: str) -> str:
        """Submits a form of `from_page` to `path` and shows where the redirect leads."""
        return self._run(path, "-dump", form={**form, "_csrf_token": self.token(from_page)})


def link_to(page: str, text_number: str) -> str:
    """The address of the link numbered [n] in a lynx dump."""
    return re.search(rf"^\s*{text_number}\. (\S+)$", page, re.M).group(1)


async def test_a_neighbour_with_lynx_logs_in_reads_the_quartier_and_replies(tmp_path):
    neighbourhood, (claire, paul) = await neighbours(2)
    post_id = await make_post(paul, title="Échelle à prêter", body="Trois mètres, à venir chercher.")
    server = ServerProcess()
    try:
        lynx = Lynx(server.url, tmp_path)

        login_page = lynx.read("/login")
        assert "Email address" in login_page and "Password" in login_page

        feed = lynx.submit("/login", {"email": claire.email, "password": PASSWORD}, from_page="/login")
        assert neighbourhood.name in feed
        number = re.search(r"\[(\d+)\]Échelle à prêter", feed).group(1)
        assert link_to(feed, number).endswith(f"/posts/{post_id}")

        post = lynx.read(f"/posts/{post_id}")
        assert "Trois mètres, à venir chercher." in post and "Paul" in post

        thread = lynx.submit(
            f"/posts/{post_id}/replies", {"body": "Je peux la prendre samedi ?"}, from_page=f"/posts/{post_id}"
        )
        assert "Je peux la prendre samedi ?" in thread
        assert "Je peux la prendre samedi ?" in lynx.read(f"/posts/{post_id}")
    finally:
        server.stop()
