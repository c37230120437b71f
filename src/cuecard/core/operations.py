"""`GET /metrics` on the API port, when CUECARD_METRICS=token (see `cuecard.core.metrics`)."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.responses import Response

from cuecard.core import metrics
from cuecard.core.config import Settings
from cuecard.core.errors import Unauthenticated


def add_metrics_route(app: FastAPI, settings: Settings) -> None:
    """Adds the route only in `token` mode: with `off` there is nothing to find, and with `port`
    the metrics are served by `cuecard serve` on their own port, never on the API's."""
    if settings.metrics != "token" or not settings.metrics_token:
        return
    expected = f"Bearer {settings.metrics_token}".encode()

    async def get_metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise Unauthenticated()
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.add_api_route(
        "/metrics", get_metrics, methods=["GET"], include_in_schema=False, name="metrics"
    )
