"""The embedded broker's soak: `python -m bench.soak.soak --help`; figures in docs/DEPLOY.md."""
