"""similarity: hash codes per kind and view, quality, match scores

Revision ID: 0003
Revises: 0002

The codes themselves are made by the app at start-up (review.similarity.rehash.rehash_references): hashing needs the image
store, which a migration should not reach into.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_hashes',
    sa.Column('reference_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('views', sa.JSON(), nullable=False),
    sa.Column('codes', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['reference_id'], ['reference_works.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('reference_id', 'kind')
    )
    with op.batch_alter_table('reference_works', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdq_quality', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('added_by', sa.String(length=200), nullable=False, server_default=''))
    with op.batch_alter_table('similarity_matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('view', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('similarity_matches', schema=None) as batch_op:
        batch_op.drop_column('view')
        batch_op.drop_column('score')
    with op.batch_alter_table('reference_works', schema=None) as batch_op:
        batch_op.drop_column('added_by')
        batch_op.drop_column('hash_version')
        batch_op.drop_column('pdq_quality')
    op.drop_table('reference_hashes')
