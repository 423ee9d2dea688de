"""reference works by hash version and by active: the start-up checks (works hashed by an older version, how many are
active for EDITGUARD_SIMILARITY_INDEX=auto) read an index, not a million rows

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
        batch_op.create_index(batch_op.f('ix_reference_works_active'), ['active'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reference_works', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_works_active'))
        batch_op.drop_index(batch_op.f('ix_reference_works_hash_version'))
