"""security: sign-in failures shared by every process, requester pseudonyms, no bearer tokens in the records

Revision ID: 0005
Revises: 0003

Records made before this version name their requester `browser:<token>`, the very token that browser used as its
credential. They are renamed `legacy:<sha256 of the token>` (in the records and, on SQLite with its append-only
triggers lifted for this one statement, in the event log), so no stored line can be replayed as a credential.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signin_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_failures_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_at'), ['at'], unique=False)
    op.create_table('requester_keys',
    sa.Column('lookup', sa.String(length=64), nullable=False),
    sa.Column('pseudonym', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('lookup'),
    sa.UniqueConstraint('pseudonym')
    )
    _rename_legacy_requesters()


def _rename_legacy_requesters() -> None:
    import hashlib

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    rows = bind.execute(sa.text("SELECT DISTINCT requester FROM edit_requests WHERE requester LIKE 'browser:%' "
                                "UNION SELECT DISTINCT actor FROM events WHERE actor LIKE 'browser:%'")).all()
    if not rows:
        return
    postgres = bind.dialect.name == "postgresql"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
    if postgres:  # 0004's append-only trigger, lifted for this one statement (inside the migration's transaction)
        op.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    for (old,) in rows:
        new = "legacy:" + hashlib.sha256(old.split(":", 1)[1].encode()).hexdigest()[:24]
        bind.execute(sa.text("UPDATE edit_requests SET requester = :new WHERE requester = :old"), {"new": new, "old": old})
        bind.execute(sa.text("UPDATE events SET actor = :new WHERE actor = :old"), {"new": new, "old": old})
    if sqlite:
        op.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
                   "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END")
    if postgres:
        op.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


def downgrade() -> None:
    op.drop_table('requester_keys')
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_failures_at'))
        batch_op.drop_index(batch_op.f('ix_signin_failures_name'))
    op.drop_table('signin_failures')
