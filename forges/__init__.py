"""GitHub and GitLab: webhooks in (trunk pushes, picks asked for on pull requests) and the
picks' states written back where their authors look."""
