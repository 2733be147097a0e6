"""Data: random-access sources and the grain input pipeline."""
