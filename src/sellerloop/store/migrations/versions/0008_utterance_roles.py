"""who said it: each utterance's side in the call

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('utterances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('utterances', schema=None) as batch_op:
        batch_op.drop_column('role')
