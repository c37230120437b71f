"""training tests: tables of issue 15 (agent tests and runs) and the two publish gates

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column(
                "publish_requires_clean_lint", sa.Boolean(), nullable=False, server_default="0"
            )
        )
        batch.add_column(
            sa.Column(
                "publish_requires_passing_tests", sa.Boolean(), nullable=False, server_default="0"
            )
        )
    op.create_table(
        "agent_tests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            ondelete="CASCADE",
            name=op.f("fk_agent_tests_agent_id_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tests")),
        sa.UniqueConstraint("agent_id", "name", name=op.f("uq_agent_tests_agent_id_name")),
    )
    op.create_table(
        "agent_test_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=True),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            ondelete="CASCADE",
            name=op.f("fk_agent_test_runs_agent_id_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_test_runs")),
    )
    op.create_index(
        "ix_agent_test_runs_agent_created", "agent_test_runs", ["agent_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_agent_test_runs_agent_created", table_name="agent_test_runs")
    op.drop_table("agent_test_runs")
    op.drop_table("agent_tests")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("publish_requires_passing_tests")
        batch.drop_column("publish_requires_clean_lint")
