"""Account email: when each address was confirmed (existing accounts count as confirmed), and
the tokens of mailed links (password reset, address confirmation, address change).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(purpose = 'change_email') = (new_email IS NOT NULL)", name=op.f('ck_account_tokens_new_email_for_change')),
    sa.CheckConstraint("purpose IN ('reset_password', 'confirm_email', 'change_email')", name=op.f('ck_account_tokens_purpose_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash'))
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))

    # Accounts from before confirmation existed count as confirmed (since they joined).
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): batch mode would copy and drop the
    # users table, which SQLite's foreign keys refuse while other rows point at it.
    op.execute("ALTER TABLE users DROP COLUMN email_confirmed_at")

    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_user_id'))

    op.drop_table('account_tokens')
