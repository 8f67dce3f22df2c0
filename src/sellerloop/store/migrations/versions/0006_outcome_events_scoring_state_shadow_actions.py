"""outcome events, scoring state, shadow actions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outcome_events',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_events')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_outcome_events_source'))
    )
    with op.batch_alter_table('outcome_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_events_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_outcome_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outcome_events_subject'), ['subject'], unique=False)

    op.create_table('scoring_state',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scoring_state'))
    )
    op.create_table('shadow_actions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('use_case', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('placement', sa.String(length=24), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('proposal', sa.JSON(), nullable=False),
    sa.Column('as_of', sa.DateTime(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shadow_actions'))
    )
    with op.batch_alter_table('shadow_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shadow_actions_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_shadow_actions_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_shadow_actions_subject'), ['subject'], unique=False)
        batch_op.create_index(batch_op.f('ix_shadow_actions_use_case'), ['use_case'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shadow_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shadow_actions_use_case'))
        batch_op.drop_index(batch_op.f('ix_shadow_actions_subject'))
        batch_op.drop_index(batch_op.f('ix_shadow_actions_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_shadow_actions_as_of'))

    op.drop_table('shadow_actions')
    op.drop_table('scoring_state')
    with op.batch_alter_table('outcome_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_events_subject'))
        batch_op.drop_index(batch_op.f('ix_outcome_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_outcome_events_kind'))

    op.drop_table('outcome_events')
