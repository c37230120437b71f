"""Every Prometheus metric Cuecard exports, in one place (docs/operations.md lists them).

With metrics on, `cuecard serve` runs prometheus-client in multi-process mode: it points
PROMETHEUS_MULTIPROC_DIR at a fresh folder before any worker imports this module, each worker
writes its samples there, and a scrape answered by any worker (or by the metrics port) adds up
every worker's. Without that variable (metrics off, tests, an app embedded elsewhere) the metrics
live in this process's default registry; with metrics off the request and database metrics are
not recorded at all (`cuecard.core.observability`), only the hooks below.

Labels are bounded: `route` is the route template (`/api/v1/agents/{agent_id}`), never the raw
path, and `unmatched` for paths no route matches.

Hooks for other domains (call them where the event happens):
- `WEBHOOK_DELIVERIES_PENDING.set(n)` after counting the deliveries waiting to be sent;
- `WEBHOOK_DELIVERIES_FAILED.inc()` when a delivery gives up (its last attempt failed);
- `RATE_LIMIT_REJECTIONS.labels(route=...).inc()` for every request refused with 429.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Request latency: from well under a millisecond (cached reads) to LLM calls of many seconds.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)

HTTP_REQUESTS = Counter(
    "cuecard_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "cuecard_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and status.",
    ["method", "route", "status"],
    buckets=_REQUEST_BUCKETS,
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "cuecard_http_requests_in_flight",
    "Requests being handled right now, over every live worker.",
    multiprocess_mode="livesum",
)
DB_QUERY_SECONDS = Histogram(
    "cuecard_db_query_duration_seconds",
    "Time of one database call on the request path, by operation (read, write, commit, rollback).",
    ["operation"],
    buckets=_FAST_BUCKETS,
)
COMPILED_CONFIG_CACHE = Counter(
    "cuecard_compiled_config_cache_total",
    "Lookups of compiled agent configs in a worker's memory, by result (hit or miss).",
    ["result"],
)
RETRIEVAL_SECONDS = Histogram(
    "cuecard_retrieval_duration_seconds",
    "Time spent ranking an agent's trainings for one turn (retrieve and test conversations).",
    buckets=_FAST_BUCKETS,
)
WEBHOOK_DELIVERIES_PENDING = Gauge(
    "cuecard_webhook_deliveries_pending",
    "Webhook deliveries waiting to be sent (the most recent count any worker took).",
    multiprocess_mode="mostrecent",
)
WEBHOOK_DELIVERIES_FAILED = Counter(
    "cuecard_webhook_deliveries_failed_total",
    "Webhook deliveries given up after their last attempt failed.",
)
RATE_LIMIT_REJECTIONS = Counter(
    "cuecard_rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by route template.",
    ["route"],
)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_VARIABLE))


def registry() -> CollectorRegistry:
    """What a scrape reads: every worker's samples in multi-process mode, else this process's."""
    if not multiprocess():
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def exposition() -> tuple[bytes, str]:
    """The body and content type of a scrape."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
