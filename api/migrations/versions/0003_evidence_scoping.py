"""Evidence hardening: segments unique per camera, case owner and scope, atomic upload completion.

Revision ID: 0003
Revises: 0002

- ``segment.sha256`` is no longer unique on its own: the same stored file may be a segment of several cameras
  (site B uploading what site A holds gets its own segment), unique per (camera, sha256).
- ``evidence_case`` gets ``owner_id``, ``scope_sites`` and ``scope_key``; names are unique per scope. Existing
  cases take as scope the sites of the cameras they hold (every site when they hold none), so whoever saw a
  case before still sees it; their owner is unknown (NULL).
- ``upload_claim``: one row per resumable upload whose import began.
"""
import json

import sqlalchemy as sa
from alembic import op

import footage.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# SQLite keeps 0001's unique constraints unnamed; batch mode finds them under these names.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_unique(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(table, naming_convention=_SQLITE_NAMES) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_{column}", type_="unique")
    else:
        op.drop_constraint(f"{table}_{column}_key", table, type_="unique")


def upgrade() -> None:
    _drop_unique("segment", "sha256")
    with op.batch_alter_table("segment") as batch_op:
        batch_op.create_unique_constraint("uq_segment_camera_sha256", ["camera_id", "sha256"])
        batch_op.create_index("ix_segment_sha256", ["sha256"], unique=False)

    _drop_unique("evidence_case", "name")
    with op.batch_alter_table("evidence_case") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scope_sites", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("scope_key", sa.String(length=400), nullable=False, server_default="*"))
        batch_op.create_foreign_key("fk_evidence_case_owner", "user_account", ["owner_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_unique_constraint("uq_evidence_case_scope_name", ["scope_key", "name"])

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT i.case_id, c.site_id FROM evidence_case_item i JOIN camera c ON c.id = i.camera_id"
    )).all()
    scopes: dict[int, set[int]] = {}
    for case_id, site_id in rows:
        scopes.setdefault(case_id, set()).add(site_id)
    for case_id, sites in scopes.items():
        ordered = sorted(sites)
        bind.execute(sa.text("UPDATE evidence_case SET scope_sites = :sites, scope_key = :key WHERE id = :id"),
                     {"sites": json.dumps(ordered), "key": ",".join(map(str, ordered)), "id": case_id})

    op.create_table(
        "upload_claim",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", footage.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("upload_id"),
    )


def downgrade() -> None:
    op.drop_table("upload_claim")
    with op.batch_alter_table("evidence_case") as batch_op:
        batch_op.drop_constraint("uq_evidence_case_scope_name", type_="unique")
        batch_op.drop_constraint("fk_evidence_case_owner", type_="foreignkey")
        batch_op.drop_column("scope_key")
        batch_op.drop_column("scope_sites")
        batch_op.drop_column("owner_id")
        batch_op.create_unique_constraint("uq_evidence_case_name", ["name"])
    with op.batch_alter_table("segment") as batch_op:
        batch_op.drop_index("ix_segment_sha256")
        batch_op.drop_constraint("uq_segment_camera_sha256", type_="unique")
        batch_op.create_unique_constraint("uq_segment_sha256", ["sha256"])
