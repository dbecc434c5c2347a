"""Projects (workspaces), their environments, project roles and identity memberships."""
