"""appeals: a requester contests a rejection once; the item returns to the queue for a different reviewer

Revision ID: 0010
Revises: 0006 (the lead re-chains merged migrations)
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_decider', sa.String(length=200), nullable=False),
    sa.Column('first_status', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['edit_requests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excluded_reviewer', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_column('excluded_reviewer')
    op.drop_table('appeals')
