"""projects and secrets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:52:11.913377
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('auto_capitalization', sa.Boolean(), nullable=False),
    sa.Column('has_delete_protection', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_org_id'), ['org_id'], unique=False)
        batch_op.create_index('uq_projects_org_slug', ['org_id', 'slug'], unique=True)

    op.create_table('identity_project_memberships',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_project_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_project_memberships_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_project_memberships_project_id'), ['project_id'], unique=False)
        batch_op.create_index('uq_identity_project_memberships_project_identity', ['project_id', 'identity_id'], unique=True)

    op.create_table('project_environments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('project_environments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_environments_project_id'), ['project_id'], unique=False)
        batch_op.create_index('uq_project_environments_project_slug', ['project_id', 'slug'], unique=True)

    op.create_table('identity_project_membership_roles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('membership_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('is_temporary', sa.Boolean(), nullable=False),
    sa.Column('temporary_mode', sa.String(length=32), nullable=True),
    sa.Column('temporary_range', sa.String(length=64), nullable=True),
    sa.Column('temporary_access_start_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('temporary_access_end_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['identity_project_memberships.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_project_membership_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_project_membership_roles_membership_id'), ['membership_id'], unique=False)

    op.create_table('secret_folders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('env_id', sa.String(length=36), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['env_id'], ['project_environments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['secret_folders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('secret_folders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secret_folders_env_id'), ['env_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_secret_folders_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('uq_secret_folders_env_parent_name', ['env_id', 'parent_id', 'name'], unique=True)

    op.create_table('secret_imports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('folder_id', sa.String(length=36), nullable=False),
    sa.Column('import_env_id', sa.String(length=36), nullable=False),
    sa.Column('import_path', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['secret_folders.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_env_id'], ['project_environments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('secret_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secret_imports_folder_id'), ['folder_id'], unique=False)

    op.create_table('secrets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('folder_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sealed_value', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_comment', sa.LargeBinary(), nullable=False),
    sa.Column('skip_multiline_encoding', sa.Boolean(), nullable=False),
    sa.Column('reminder_note', sa.Text(), nullable=True),
    sa.Column('reminder_repeat_days', sa.Integer(), nullable=True),
    sa.Column('secret_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['secret_folders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secrets_folder_id'), ['folder_id'], unique=False)
        batch_op.create_index('uq_secrets_folder_key_type', ['folder_id', 'key', 'type'], unique=True)

    op.create_table('secret_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('secret_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('sealed_value', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_comment', sa.LargeBinary(), nullable=False),
    sa.Column('skip_multiline_encoding', sa.Boolean(), nullable=False),
    sa.Column('reminder_note', sa.Text(), nullable=True),
    sa.Column('reminder_repeat_days', sa.Integer(), nullable=True),
    sa.Column('secret_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('secret_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secret_versions_secret_id'), ['secret_id'], unique=False)
        batch_op.create_index('uq_secret_versions_secret_version', ['secret_id', 'version'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('secret_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_secret_versions_secret_version')
        batch_op.drop_index(batch_op.f('ix_secret_versions_secret_id'))

    op.drop_table('secret_versions')
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.drop_index('uq_secrets_folder_key_type')
        batch_op.drop_index(batch_op.f('ix_secrets_folder_id'))

    op.drop_table('secrets')
    with op.batch_alter_table('secret_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secret_imports_folder_id'))

    op.drop_table('secret_imports')
    with op.batch_alter_table('secret_folders', schema=None) as batch_op:
        batch_op.drop_index('uq_secret_folders_env_parent_name')
        batch_op.drop_index(batch_op.f('ix_secret_folders_parent_id'))
        batch_op.drop_index(batch_op.f('ix_secret_folders_env_id'))

    op.drop_table('secret_folders')
    with op.batch_alter_table('identity_project_membership_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_project_membership_roles_membership_id'))

    op.drop_table('identity_project_membership_roles')
    with op.batch_alter_table('project_environments', schema=None) as batch_op:
        batch_op.drop_index('uq_project_environments_project_slug')
        batch_op.drop_index(batch_op.f('ix_project_environments_project_id'))

    op.drop_table('project_environments')
    with op.batch_alter_table('identity_project_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_identity_project_memberships_project_identity')
        batch_op.drop_index(batch_op.f('ix_identity_project_memberships_project_id'))
        batch_op.drop_index(batch_op.f('ix_identity_project_memberships_identity_id'))

    op.drop_table('identity_project_memberships')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index('uq_projects_org_slug')
        batch_op.drop_index(batch_op.f('ix_projects_org_id'))

    op.drop_table('projects')
