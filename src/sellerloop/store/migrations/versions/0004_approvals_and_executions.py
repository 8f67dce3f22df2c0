"""approvals and executions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approvals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('use_case', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('approval', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals'))
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_approvals_subject'), ['subject'], unique=False)

    op.create_table('executions',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('approval_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('executed_by', sa.String(length=64), nullable=False),
    sa.Column('executed_at', sa.DateTime(), nullable=False),
    sa.Column('rolled_back_by', sa.String(length=64), nullable=True),
    sa.Column('rolled_back_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_executions')),
    sa.UniqueConstraint('approval_id', name=op.f('uq_executions_approval_id'))
    )


def downgrade() -> None:
    op.drop_table('executions')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_subject'))
        batch_op.drop_index(batch_op.f('ix_approvals_state'))

    op.drop_table('approvals')
