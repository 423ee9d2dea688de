"""similarity: verification evidence per match, and a change log the in-memory indexes follow

Revision ID: 0006
Revises: 0003

Existing active references are written to the change log as additions, so an index built from the log alone sees them.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_changes',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reference_id', sa.Integer(), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('similarity_matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
    op.execute("INSERT INTO library_changes (reference_id, op) SELECT id, 'add' FROM reference_works WHERE active "
                "ORDER BY id")


def downgrade() -> None:
    with op.batch_alter_table('similarity_matches', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    op.drop_table('library_changes')
