"""On PostgreSQL the search index carries the search's filters: (camera_id, start, end, dwell_s, stationary)
replaces (camera_id, start). SQLite keeps (camera_id, start).

Every search bounds ``camera_id`` and ``start`` and then filters on ``end`` (the overlap test), ``stationary``
(parked objects are left out unless asked for) and often ``dwell_s`` (min_dwell). On PostgreSQL with the old index
those filters were checked on the table row, so each candidate cost a table page read: with rows in random order,
an overnight week at one site read ~6,000 pages to keep ~700 rows (p95 195 ms at 10,000,000 events). As key
columns of the index they are in the index condition, checked on index entries, so only matching rows get into
the bitmap and are read (INCLUDE columns would not do: PostgreSQL checks them only as a filter on each fetched
row, outside index-only scans). The leading columns are the old index's, so it serves every query the old one
did and replaces it (one index less to maintain on every insert).

SQLite reads its file through mmap and the page cache, and there the wider index was slower: at 10,000,000 events
the overnight search took 15-18 ms of CPU (p50) on it against 6.5-8.6 ms on (camera_id, start), same data, same
run (bench/RESULTS.md). So on SQLite this migration changes nothing.

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
    if op.get_bind().dialect.name != "postgresql":
        return
    # Built before the old one goes, so searches keep an index throughout (the migration is one transaction).
    op.create_index("ix_event_camera_start_filters", "event", COLUMNS)
    op.drop_index("ix_event_camera_start", table_name="event")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index("ix_event_camera_start", "event", ["camera_id", "start"])
    op.drop_index("ix_event_camera_start_filters", table_name="event")
