"""agent outputs and batches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('use_cases', sa.JSON(), nullable=False),
    sa.Column('acting_user', sa.String(length=64), nullable=True),
    sa.Column('playbook', sa.String(length=300), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_batches'))
    )
    op.create_table('agent_outputs',
    sa.Column('use_case', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('generated_at', sa.DateTime(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('dropped_unsupported', sa.Integer(), nullable=False),
    sa.Column('output', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['agent_batches.id'], name=op.f('fk_agent_outputs_batch_id_agent_batches')),
    sa.PrimaryKeyConstraint('use_case', 'subject_type', 'subject_id', name=op.f('pk_agent_outputs'))
    )
    with op.batch_alter_table('agent_outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_outputs_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_outputs_subject_id'), ['subject_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agent_outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_outputs_subject_id'))
        batch_op.drop_index(batch_op.f('ix_agent_outputs_batch_id'))

    op.drop_table('agent_outputs')
    op.drop_table('agent_batches')