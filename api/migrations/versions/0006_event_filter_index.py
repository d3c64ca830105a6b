"""The search index carries the search's filters: (camera_id, start, end, dwell_s, stationary) replaces
(camera_id, start).

Every search bounds ``camera_id`` and ``start`` and then filters on ``end`` (the overlap test), ``stationary``
(parked objects are left out unless asked for) and often ``dwell_s`` (min_dwell). On the old index those filters
were checked on the table row, so each candidate cost a table page read: with rows in random order on PostgreSQL,
an overnight week at one site read ~6,000 pages to keep ~700 rows (p95 195 ms at 10,000,000 events). As key
columns of the index they are checked on the index entry (PostgreSQL: in the index condition, INCLUDE columns
would only be filters on the row; SQLite: before it seeks the row), so only the rows that match are read. The
leading columns are the old index's, so it serves every query the old one did and replaces it (one index less
to maintain on every insert).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = ["camera_id", "start", "end", "dwell_s", "stationary"]


def upgrade() -> None:
    # Built before the old one goes, so searches keep an index throughout (the migration is one transaction).
    with op.batch_alter_table("event") as batch_op:
        batch_op.create_index("ix_event_camera_start_filters", COLUMNS)
        batch_op.drop_index("ix_event_camera_start")


def downgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.create_index("ix_event_camera_start", ["camera_id", "start"])
        batch_op.drop_index("ix_event_camera_start_filters")
