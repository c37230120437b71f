"""HTTP only: the dashboard's shell and its static assets, with a strict Content-Security-Policy.

The shell holds no data and no token: the scripts ask the API for everything, sending the token
from sessionStorage in the Authorization header. Bearer tokens sent by script (no cookies) make
every write CSRF-proof; the CSP (`default-src 'self'`, no inline script or style) and rendering
every user text with `textContent` keep a training's text from ever running as code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from fastapi import APIRouter, Request, Response

from cuecard import __version__
from cuecard.core.errors import NotFound

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _load_assets() -> dict[str, Asset]:
    """Every file under static/, read once: the set is fixed, so a path outside it is a 404."""
    assets: dict[str, Asset] = {}
    root = files("cuecard.dashboard") / "static"
    for entry in root.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _TYPES:
            body = entry.read_bytes()
            etag = hashlib.sha256(body).hexdigest()[:32]
            assets[entry.name] = Asset(body, _TYPES[suffix], etag)
    return assets


ASSETS = _load_assets()
# The shell names each asset with its hash, so a browser never runs an old script after an upgrade.
_VERSIONED = {name: f"/dashboard/{name}?v={asset.etag[:12]}" for name, asset in ASSETS.items()}

# Every module is announced up front, so the browser fetches them in parallel instead of
# discovering each one's imports after the last arrived (bench/dashboard_bench.py). Same URLs as
# the imports (`./dom.js`), which every load revalidates by ETag (Cache-Control: no-cache).
_PRELOADS = "\n".join(
    f'<link rel="modulepreload" href="/dashboard/{name}">'
    for name in sorted(ASSETS)
    if name.endswith(".js") and name != "app.js"
)

SHELL = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cuecard</title>
<link rel="stylesheet" href="{_VERSIONED["dashboard.css"]}">
<link rel="icon" href="{_VERSIONED["favicon.svg"]}" type="image/svg+xml">
<script type="module" src="{_VERSIONED["app.js"]}"></script>
{_PRELOADS}
</head>
<body>
<header class="top">
<a class="brand" href="#/">Cuecard</a>
<nav id="nav" aria-label="Main"></nav>
<span class="version">v{__version__}</span>
</header>
<main id="main" tabindex="-1"><p class="muted">Loading the dashboard…</p></main>
<noscript><p>The Cuecard dashboard needs JavaScript. The API is at /api/v1.</p></noscript>
</body>
</html>
""".encode()

router = APIRouter(include_in_schema=False)


@router.get("/")
async def get_dashboard() -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(SHELL, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/dashboard/{name}")
async def get_dashboard_asset(name: str, request: Request) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound()
    headers = {**SECURITY_HEADERS, "ETag": f'"{asset.etag}"', "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == f'"{asset.etag}"':
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
