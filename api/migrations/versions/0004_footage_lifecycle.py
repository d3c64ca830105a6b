"""Footage lifecycle: retention per site and camera, case status (an open case holds its footage).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import footage.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site") as batch_op:
        batch_op.add_column(sa.Column("retain_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("camera") as batch_op:
        batch_op.add_column(sa.Column("retain_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("evidence_case") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="open"))
        batch_op.add_column(sa.Column("closed_at", footage.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_case") as batch_op:
        batch_op.drop_column("close_reason")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("status")
    with op.batch_alter_table("camera") as batch_op:
        batch_op.drop_column("retain_days")
    with op.batch_alter_table("site") as batch_op:
        batch_op.drop_column("retain_days")
