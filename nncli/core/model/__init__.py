"""Models: TOML configs, building, summaries and the forward pass."""
