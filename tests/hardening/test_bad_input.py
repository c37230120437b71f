"""Every malformed input is a 4xx in the envelope, the same on SQLite and PostgreSQL, and is
logged without a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from cuecard.core.validation import MAX_PAGE


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Any:
    with caplog.at_level(logging.INFO):
        yield
    assert [r for r in caplog.records if r.exc_info] == []


def agents_count(response: httpx.Response) -> int:
    return int(response.json()["meta"]["total"])


class TestText:
    @pytest.mark.parametrize("text", ["nul\u0000inside", "lone \ud800 surrogate"])
    async def test_unstorable_text_in_a_body_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], text: str
    ) -> None:
        body = json.dumps({"name": text}).encode()  # \\u escapes: valid JSON, unstorable text

        response = await client.post(
            "/api/v1/agents", content=body, headers={**headers, "Content-Type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "name": ["The name field must not contain NUL characters or invalid Unicode."]
        }
        listed = await client.get("/api/v1/agents", headers=headers)
        assert agents_count(listed) == 0

    async def test_nul_in_a_nested_key_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={"subject": "s", "instructions": "i", "meta": {"a\u0000b": 1}},
            headers=headers,
        )

        assert response.status_code == 422
        assert "meta" in response.json()["errors"]

    async def test_nul_in_the_query_string_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/agents?search=a%00b", headers=headers)

        assert response.status_code == 422
        assert response.json()["code"] == "VALIDATION_ERROR"

    async def test_nul_in_the_path_is_404(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get("/api/v1/agents/abc%00def", headers=headers)

        assert response.status_code == 404
        assert response.json()["success"] is False


class TestIntegers:
    @pytest.mark.parametrize("page", [MAX_PAGE + 1, 2**31, 2**63, 10**40])
    async def test_a_page_beyond_the_bound_is_422_in_laravel_wording(
        self, client: httpx.AsyncClient, headers: dict[str, str], page: int
    ) -> None:
        response = await client.get(f"/api/v1/agents?page={page}", headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "page": [f"The page field must not be greater than {MAX_PAGE}."]
        }

    async def test_the_largest_page_is_an_empty_page(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get(f"/api/v1/agents?page={MAX_PAGE}", headers=headers)

        assert response.status_code == 200
        assert response.json()["data"] == []

    @pytest.mark.parametrize("path", ["versions/99999999999999999999", "versions/³", "versions/٣"])
    async def test_version_paths_that_are_no_number_are_404(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], path: str
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent['id']}/{path}", headers=headers)

        assert response.status_code == 404
        assert response.json()["code"] == "VERSION_NOT_FOUND"

    @pytest.mark.parametrize("page", ["\uff11\uff12", "\u0663", "\u00b3"])  # fullwidth, Arabic, ³
    async def test_non_ascii_digits_are_not_integers(
        self, client: httpx.AsyncClient, headers: dict[str, str], page: str
    ) -> None:
        response = await client.get("/api/v1/agents", params={"page": page}, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {"page": ["The page field must be an integer."]}

    async def test_a_huge_runtime_version_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=4294967296", headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "version": ["The version field must not be greater than 2147483647."]
        }

    async def test_a_huge_training_position_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={"subject": "s", "instructions": "i", "position": 2**40},
            headers=headers,
        )

        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"position"}


class TestNesting:
    @pytest.mark.parametrize("depth", [33, 950, 100_000])
    async def test_bodies_nested_deeper_than_32_are_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], depth: int
    ) -> None:
        body = b'{"name": "x", "meta": ' + b"[" * depth + b"]" * depth + b"}"

        response = await client.post(
            "/api/v1/agents", content=body, headers={**headers, "Content-Type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "body": ["The request body must not nest arrays and objects more than 32 deep."]
        }

    async def test_a_body_within_the_limit_is_accepted(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        nested: Any = []
        for _ in range(30):
            nested = [nested]

        response = await client.post(
            "/api/v1/agents", json={"name": "x", "ignored": nested}, headers=headers
        )

        assert response.status_code == 201


class TestContentType:
    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/xml", b"<agent><name>x</name></agent>"),
            ("text/plain", b'{"name": "x"}'),
            ("application/x-www-form-urlencoded", b"name=x"),
            ("multipart/form-data; boundary=b",
             b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n'),
            ("image/png", b"\x89PNG\r\n\x1a\n"),
            ("application/json; charset=latin-1", b'{"name": "x"}'),
        ],
    )  # fmt: skip
    async def test_a_body_that_is_not_json_is_415_and_writes_nothing(
        self, client: httpx.AsyncClient, headers: dict[str, str], content_type: str, body: bytes
    ) -> None:
        response = await client.post(
            "/api/v1/agents", content=body, headers={**headers, "Content-Type": content_type}
        )

        assert response.status_code == 415
        assert response.json() == {
            "success": False,
            "message": "The request body must be sent as application/json.",
            "code": "UNSUPPORTED_MEDIA_TYPE",
        }
        assert agents_count(await client.get("/api/v1/agents", headers=headers)) == 0

    async def test_json_with_a_utf8_charset_is_accepted(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.post(
            "/api/v1/agents",
            content=b'{"name": "x"}',
            headers={**headers, "Content-Type": "application/json; charset=UTF-8"},
        )

        assert response.status_code == 201


class TestHeaders:
    async def test_headers_over_the_limit_are_431(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get(
            "/api/v1/agents", headers={**headers, "X-Padding": "x" * 20_000}
        )

        assert response.status_code == 431
        assert response.json()["code"] == "HEADERS_TOO_LARGE"
