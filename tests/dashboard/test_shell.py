"""The dashboard's shell and assets over HTTP (no browser): headers, the fixed asset set, and the
wheel carrying every asset."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from cuecard.dashboard.router import ASSETS

STATIC = Path(__file__).resolve().parents[2] / "src" / "cuecard" / "dashboard" / "static"


class TestShell:
    async def test_the_shell_is_html_with_a_strict_csp(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert csp.startswith("default-src 'self';")
        assert "unsafe" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        # No inline script or style: only files of the dashboard itself.
        assert "<style" not in response.text
        assert re.findall(r"<script[^>]*>", response.text) == [
            f'<script type="module" src="/dashboard/app.js?v={ASSETS["app.js"].etag[:12]}">'
        ]

    async def test_every_asset_is_served_with_its_type(self, client: httpx.AsyncClient) -> None:
        for name in ("app.js", "dashboard.css", "favicon.svg"):
            response = await client.get(f"/dashboard/{name}")
            assert response.status_code == 200, name
            assert response.content == (STATIC / name).read_bytes()
        js = await client.get("/dashboard/app.js")
        assert js.headers["content-type"].startswith("text/javascript")
        again = await client.get("/dashboard/app.js", headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304

    async def test_anything_else_is_a_404_in_the_envelope(self, client: httpx.AsyncClient) -> None:
        for path in ("/dashboard/nope.js", "/dashboard/..%2Fapp.py", "/dashboard/__init__.py"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["success"] is False

    async def test_the_api_stays_under_api_v1(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/agents")
        assert response.status_code == 401

    def test_no_asset_loads_anything_from_another_host(self) -> None:
        for path in STATIC.iterdir():
            text = path.read_text()
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), path.name
            for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML(", "document.write("):
                assert sink not in text, (path.name, sink)  # user text goes in as text only


class TestPackaging:
    def test_the_wheel_carries_every_asset(self, tmp_path: Path) -> None:
        root = Path(__file__).resolve().parents[2]
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
             "-w", str(tmp_path), str(root)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        (wheel,) = tmp_path.glob("cuecard-*.whl")
        names = set(zipfile.ZipFile(wheel).namelist())
        expected = {f"cuecard/dashboard/static/{p.name}" for p in STATIC.iterdir()}
        assert expected <= names
        assert "cuecard/dashboard/router.py" in names
