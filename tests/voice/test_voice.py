from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import ConfigError, Settings
from tests.config_helpers import FRANCISCA_BASIC_PT, RACHEL_ULTRA, native, publish
from tests.conftest import bearer

Headers = dict[str, str]
HIFI = {
    "voice_id": RACHEL_ULTRA,
    "conversation_speed": 1.2,
    "who_speaks_first": "agent",
    "ambient_background": "office",
    "similarity": 0.75,
    "stability": 0.8,
}


class TestListVoiceTemplates:
    async def test_default_catalog_grouped_by_display_name_with_provider_voice_ids(
        self, client: httpx.AsyncClient, headers: Headers
    ) -> None:
        response = await client.get("/api/v1/voice-templates", headers=headers)

        assert response.status_code == 200
        groups = response.json()["data"]
        rachel = next(g for g in groups if g["display_name"] == "Rachel")
        assert {v["quality_tier"] for v in rachel["voices"]} == {"ultra", "pro"}
        voice = rachel["voices"][0]
        assert set(voice) >= {"id", "name", "gender", "language", "quality_tier", "cost"}
        assert (voice["provider"], voice["provider_voice_id"]) == (
            "elevenlabs",
            "21m00Tcm4TlvDq8ikWAM",
        )
        assert {v["provider"] for g in groups for v in g["voices"]} >= {
            "elevenlabs",
            "openai",
            "azure",
            "deepgram",
        }

    async def test_filters_combine(self, client: httpx.AsyncClient, headers: Headers) -> None:
        response = await client.get(
            "/api/v1/voice-templates",
            params={"language": "pt-BR", "gender": "female", "quality_tier": "basic"},
            headers=headers,
        )

        voices = [v for g in response.json()["data"] for v in g["voices"]]
        assert voices
        assert all(v["gender"] == "female" and v["quality_tier"] == "basic" for v in voices)
        assert all("pt-BR" in (v["language"], *v["languages"]) for v in voices)
        assert "Francisca" in {v["name"] for v in voices}
        assert "Antonio" not in {v["name"] for v in voices}

    async def test_invalid_filters_are_422_each(
        self, client: httpx.AsyncClient, headers: Headers
    ) -> None:
        response = await client.get(
            "/api/v1/voice-templates",
            params={"language": "xx", "quality_tier": "gold", "gender": "robot"},
            headers=headers,
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "language": ["The selected language is invalid."],
            "quality_tier": ["The selected quality tier is invalid."],
            "gender": ["The selected gender is invalid."],
        }

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/voice-templates")).status_code == 401

    async def test_the_operator_file_replaces_the_catalog(
        self, settings: Settings, tmp_path: Path, make_token: Any
    ) -> None:
        path = tmp_path / "voices.json"
        path.write_text(json.dumps({"voices": [{
            "id": "house-voice", "display_name": "House", "name": "House", "gender": "male",
            "language": "en-US", "quality_tier": "beta", "cost": "0.01",
            "provider": "cartesia", "provider_voice_id": "abc-123",
        }]}))  # fmt: skip
        app = create_app(Settings(**{**settings.__dict__, "voice_templates": str(path)}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                from cuecard.auth import service as auth

                async with app.state.db.transaction() as uow:
                    await auth.ensure_environment(uow, "default")
                    _, token = await auth.create_token(
                        uow, settings.resolved_secret_key(), "talq_", "default"
                    )
                listed = await client.get("/api/v1/voice-templates", headers=bearer(token))
        assert [g["display_name"] for g in listed.json()["data"]] == ["House"]

    def test_a_broken_operator_file_stops_the_server_at_start(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        path = tmp_path / "voices.json"
        path.write_text('{"voices": [{"id": "x"}]}')
        with pytest.raises(ConfigError, match="CUECARD_VOICE_TEMPLATES"):
            create_app(Settings(**{**settings.__dict__, "voice_templates": str(path)}))


class TestUpdateAgentVoice:
    async def test_sets_the_documented_voice_object_and_draft(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await publish(client, headers, agent["id"])

        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", json=HIFI, headers=headers
        )

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Agent voice updated successfully"
        data = body["data"]
        assert data["current_status"] == "draft"
        assert data["conversation_speed"] == 1.2
        voice = data["voice"]
        assert voice["template"] == {"id": RACHEL_ULTRA, "name": "Rachel"}
        assert (voice["name"], voice["label"]) == ("Rachel", "Rachel Voice")
        assert (voice["stability"], voice["similarity_boost"]) == (0.8, 0.75)
        assert voice["ambient_background"] == "office"
        fetched = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert fetched.json()["data"]["voice"] == voice

    async def test_runtime_config_carries_provider_voice_and_sound(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await client.put(
            f"/api/v1/agents/{agent['id']}/voice",
            json={**HIFI, "ambient_volume": 0.5, "language": "pt-BR"},
            headers=headers,
        )

        settings = (await native(client, headers, agent["id"]))["settings"]
        assert settings["voice"] == {
            "provider": "elevenlabs",
            "voice_id": "21m00Tcm4TlvDq8ikWAM",
            "template_id": RACHEL_ULTRA,
            "name": "Rachel",
            "quality_tier": "ultra",
            "speed": 1.2,
            "stability": 0.8,
            "similarity": 0.75,
            "language": "pt-BR",
            "ambient_sound": {"background": "office", "volume": 0.5},
        }
        await publish(client, headers, agent["id"])
        published = await native(client, headers, agent["id"], "published")
        assert published["settings"]["voice"] == settings["voice"]

    async def test_unknown_voice_is_404_voice_not_found(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {**HIFI, "voice_id": "no-such-voice"}
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", json=body, headers=headers
        )

        assert response.status_code == 404
        assert response.json()["code"] == "VOICE_NOT_FOUND"

    async def test_every_invalid_field_at_once(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {
            "conversation_speed": 2,
            "who_speaks_first": "nobody",
            "language": "xx-XX",
            "similarity": 1,
            "stability": 0.2,
            "ambient_volume": 3,
        }
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", json=body, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "voice_id": ["The voice id field is required."],
            "conversation_speed": [
                "The conversation speed must be greater than 1 and less than 2."
            ],
            "who_speaks_first": ["The selected who speaks first is invalid."],
            "language": ["The selected language is invalid."],
            "similarity": ["The similarity must be at least 0.5 and less than 1."],
            "stability": ["The stability must be at least 0.5 and less than 1."],
            "ambient_volume": ["The ambient volume must be between 0 and 2."],
        }

    async def test_high_fidelity_voices_require_stability_and_similarity(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {k: v for k, v in HIFI.items() if k not in ("similarity", "stability")}
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", json=body, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "similarity": ["The similarity field is required."],
            "stability": ["The stability field is required."],
        }

    async def test_basic_voices_refuse_them_and_must_speak_the_language(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {**HIFI, "voice_id": FRANCISCA_BASIC_PT}
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", json=body, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "similarity": ["The similarity field is prohibited."],
            "stability": ["The stability field is prohibited."],
            # The agent speaks en-US (its default) and this voice only pt-BR.
            "voice_id": ["The selected voice does not speak en-US."],
        }
        ok = {"voice_id": FRANCISCA_BASIC_PT, "conversation_speed": 1.1,
              "who_speaks_first": "user", "language": "pt-BR"}  # fmt: skip
        response = await client.put(f"/api/v1/agents/{agent['id']}/voice", json=ok, headers=headers)
        assert response.status_code == 200
        assert response.json()["data"]["language"] == "pt-BR"
        assert response.json()["data"]["who_speaks_first"] == "user"
        assert response.json()["data"]["voice"]["stability"] is None

    async def test_read_only_token_is_403_before_the_body(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: Any
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/voice", content=b"{", headers=reader
        )

        assert response.status_code == 403
