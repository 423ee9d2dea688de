"""review queue: claims, decisions, users, sessions

Revision ID: 0002
Revises: 0001
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reviewer_sessions',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_sha256')
    )
    with op.batch_alter_table('reviewer_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviewer_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tags', sa.String(length=500), nullable=False, server_default='|'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_review_items_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_items_decided_by'), ['decided_by'], unique=False)
    # Outside the batch: SQLite's batch mode cannot copy indexes with a DESC expression.
    op.create_index('ix_review_items_queue', 'review_items', ['status', sa.text('priority DESC'), 'created_at', 'id'])
    op.create_index('ix_review_items_order', 'review_items', [sa.text('priority DESC'), 'created_at', 'id', 'status'])
    _backfill_tags()



def _backfill_tags() -> None:
    """Items queued before this revision get their filter tags from their reasons and verdicts."""
    bind = op.get_bind()
    items = bind.execute(sa.text("select id, request_id, reasons from review_items")).all()
    for item_id, request_id, reasons in items:
        reasons = json.loads(reasons) if isinstance(reasons, str) else (reasons or [])
        tags = [f"reason:{r}" for r in reasons]
        for label, categories in bind.execute(
            sa.text("select label, categories from verdicts where request_id = :r"), {"r": request_id}
        ):
            categories = json.loads(categories) if isinstance(categories, str) else (categories or [])
            if label != "Safe":
                tags.append(f"label:{label}")
                tags += [f"cat:{c}" for c in categories]
        value = "|" + "|".join(dict.fromkeys(tags)) + ("|" if tags else "")
        bind.execute(sa.text("update review_items set tags = :t where id = :i"), {"t": value, "i": item_id})


def downgrade() -> None:
    op.drop_index('ix_review_items_order', 'review_items')
    op.drop_index('ix_review_items_queue', 'review_items')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_items_decided_by'))
        batch_op.drop_index(batch_op.f('ix_review_items_decided_at'))
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('escalated')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('tags')

    op.drop_table('users')
    with op.batch_alter_table('reviewer_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviewer_sessions_expires_at'))

    op.drop_table('reviewer_sessions')
