"""reference works by hash version: the start-up check for works hashed by an older version is one index lookup, not a
scan of a million rows

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reference_works', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_works_hash_version'), ['hash_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reference_works', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_works_hash_version'))
