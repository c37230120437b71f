"""trainings: the list's whole order (agent_id, created_at, id) in one index

Every trainings read orders by `created_at, id`. With the old index on (agent_id, created_at)
SQLite sorted each run of equal `created_at` in a temporary B-tree before the first row, and a
bulk write (a sync, a restore) gives every training it makes the same `created_at`: listing a
10,000-training agent sorted all of them in one step, 12-15 ms holding the event loop
(bench/README.md, item 15). This index yields them in order, a chunk at a time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_trainings_agent_created_id", "trainings", ["agent_id", "created_at", "id"])
    op.drop_index("ix_trainings_agent_created", table_name="trainings")


def downgrade() -> None:
    op.create_index("ix_trainings_agent_created", "trainings", ["agent_id", "created_at"])
    op.drop_index("ix_trainings_agent_created_id", table_name="trainings")
