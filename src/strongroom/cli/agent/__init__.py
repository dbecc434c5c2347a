"""``strongroom agent``: keep an access token valid and secrets rendered into files, the job of Infisical's agent."""
