"""postgres: the event log is append-only there too

Revision ID: 0004
Revises: 0003

SQLite has had its BEFORE UPDATE/DELETE triggers since 0001; PostgreSQL gets the same refusal from a trigger
function (TRUNCATE included). Other engines are not supported and get nothing.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION editguard_events_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'the event log is append-only';
        END
        $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
               "FOR EACH ROW EXECUTE FUNCTION editguard_events_append_only()")
    op.execute("CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
               "FOR EACH STATEMENT EXECUTE FUNCTION editguard_events_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
    op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
    op.execute("DROP FUNCTION IF EXISTS editguard_events_append_only()")
