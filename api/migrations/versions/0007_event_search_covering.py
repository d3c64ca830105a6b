"""On PostgreSQL the search index also carries ``id`` and ``label`` (INCLUDE columns), so a search picks its page
on the index alone (an index-only scan) and reads only the page's rows from the table. SQLite is left as it is.

With 0006 the overnight week at one site (min_dwell 10) still read ~756 table rows, one page each with rows in
random order, to sort them and keep 50. A search now runs in two steps in one statement (detection.search.services):
the ids of the page, chosen, ordered and cut to ``limit + 1`` from index entries (filters, sort key and keyset
cursor are all index columns), then those rows fetched by primary key. ``label`` is included because most searches
filter on it (a gate's vehicles); an INCLUDE column cannot bound the scan but is checked on the index entry in an
index-only scan.

An index-only scan skips the table only for pages the visibility map marks all-visible, which VACUUM sets. Events
are only inserted (never updated) and PostgreSQL 13+ autovacuum vacuums a table after inserts of
``autovacuum_vacuum_insert_scale_factor`` of its rows (default 20 %: 2,000,000 events at 10,000,000, so a month of
new events would wait); this migration lowers that to 1 % for the event table. After a bulk import run
``VACUUM (ANALYZE) event`` (bench/fill_bulk.py does). Pages not yet vacuumed are still read correctly, only slower.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

KEY = ["camera_id", "start", "end", "dwell_s", "stationary"]
NEW, OLD = "ix_event_search", "ix_event_camera_start_filters"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Built before the old one goes, so searches keep an index throughout (the migration is one transaction).
    op.create_index(NEW, "event", KEY, postgresql_include=["id", "label"])
    op.drop_index(OLD, table_name="event")
    op.execute("ALTER TABLE event SET (autovacuum_vacuum_insert_scale_factor = 0.01)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE event RESET (autovacuum_vacuum_insert_scale_factor)")
    op.create_index(OLD, "event", KEY)
    op.drop_index(NEW, table_name="event")
