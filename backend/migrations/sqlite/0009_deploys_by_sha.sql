-- A page of deploys looks its app commits up by sha across the app repositories.
CREATE INDEX git_commits_sha ON git_commits (sha);
