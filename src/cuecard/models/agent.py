from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps


class Agent(Timestamps, Base):
    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_environment_created", "environment_id", "created_at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        Id, ForeignKey("environments.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
    initial_message: Mapped[str | None] = mapped_column(Text)
    interrupt_sensitivity: Mapped[str] = mapped_column(String(16))
    endpointing_sensitivity: Mapped[str] = mapped_column(String(255))
    ivr_navigation_mode: Mapped[str] = mapped_column(String(255))
    conversation_speed: Mapped[float] = mapped_column(Float)
    initial_message_delay: Mapped[int] = mapped_column(Integer)
    ask_if_human_present_on_idle: Mapped[bool] = mapped_column(Boolean)
    idle_time_seconds: Mapped[int] = mapped_column(Integer)
    max_idle_check_count: Mapped[int] = mapped_column(Integer)
    max_call_duration_seconds: Mapped[int] = mapped_column(Integer)
    say_goodbye_on_max_duration: Mapped[bool] = mapped_column(Boolean)
    user_inactivity_timeout_seconds: Mapped[int] = mapped_column(Integer)
    initial_idle_time_seconds: Mapped[int] = mapped_column(Integer)
    initial_max_idle_check_count: Mapped[int] = mapped_column(Integer)
    llm_temperature: Mapped[float] = mapped_column(Float)
    enable_recording: Mapped[bool] = mapped_column(Boolean)
    direction: Mapped[str] = mapped_column(String(16))
    who_speaks_first: Mapped[str] = mapped_column(String(16))
    current_status: Mapped[str] = mapped_column(String(16))
    is_sandbox: Mapped[bool] = mapped_column(Boolean)
    training_budget_tokens: Mapped[int] = mapped_column(Integer)
    # Publish gates (issue 15): refuse while lint errors remain / until the draft's tests pass.
    publish_requires_clean_lint: Mapped[bool] = mapped_column(Boolean, server_default="0")
    publish_requires_passing_tests: Mapped[bool] = mapped_column(Boolean, server_default="0")
    # Bumped by every write to the agent or its trainings: the cache key of the compiled draft.
    draft_revision: Mapped[int] = mapped_column(Integer)
    # The newest published version number (versions only grow), None until the first publish.
    published_version: Mapped[int | None] = mapped_column(Integer)
    # Voice (PUT .../voice): the template chosen, frozen with what a runtime needs from it, so an
    # operator editing the catalog later never changes a published agent's voice.
    voice_template_id: Mapped[str | None] = mapped_column(String(255))
    voice_name: Mapped[str | None] = mapped_column(String(255))
    voice_provider: Mapped[str | None] = mapped_column(String(255))
    voice_provider_voice_id: Mapped[str | None] = mapped_column(String(255))
    voice_quality_tier: Mapped[str | None] = mapped_column(String(16))
    voice_stability: Mapped[float | None] = mapped_column(Float)
    voice_similarity: Mapped[float | None] = mapped_column(Float)
    ambient_background: Mapped[str | None] = mapped_column(String(255))
    ambient_volume: Mapped[float | None] = mapped_column(Float)
    # Advanced settings (PATCH .../advanced-settings).
    enable_initial_message_cache: Mapped[bool] = mapped_column(Boolean, server_default=false())
