"""similarity exceptions: a reviewer's "not a copy" keeps an uploaded picture from being flagged against a work again

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('similarity_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('reference_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reference_id'], ['reference_works.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_sha256', 'reference_id')
    )
    with op.batch_alter_table('similarity_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_exceptions_image_sha256'), ['image_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('similarity_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_exceptions_image_sha256'))
    op.drop_table('similarity_exceptions')
