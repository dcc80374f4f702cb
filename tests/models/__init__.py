"""Model files for --model tests and benchmarks (loaded by path or as tests.models.NAME)."""
