"""Licence plates: each event's plate read (text, search key, score), its best plate crop, a camera switch.

The crop lives in its own table beside ``event_thumbnail`` (same reasons: event scans stay narrow, the crop goes
with its event in the same transaction when an event is replaced or purged, and a backup of the database holds it).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch_op:
        batch_op.add_column(sa.Column("plate", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("plate_norm", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("plate_score", sa.Float(), nullable=True))
        batch_op.create_index("ix_event_plate_norm", ["plate_norm"])
    op.create_table(
        "event_plate_crop",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
    )
    with op.batch_alter_table("camera") as batch_op:
        batch_op.add_column(sa.Column("read_plates", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("camera") as batch_op:
        batch_op.drop_column("read_plates")
    op.drop_table("event_plate_crop")
    with op.batch_alter_table("event") as batch_op:
        batch_op.drop_index("ix_event_plate_norm")
        batch_op.drop_column("plate_score")
        batch_op.drop_column("plate_norm")
        batch_op.drop_column("plate")
