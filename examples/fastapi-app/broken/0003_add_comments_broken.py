"""add comments (broken on purpose)

A revision that fails: it indexes a table that does not exist (a typo for "posts"), the kind of
mistake that passes review and breaks a deploy. The ecs-migrate example test adds this directory
through EXTRA_VERSION_LOCATIONS and expects Migration.NonZeroExit with PostgreSQL's error in the
Cause, and the database still at revision 0002.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
    )
    op.execute("CREATE INDEX ix_comments_post ON postz (id)")


def downgrade() -> None:
    op.drop_table("comments")
