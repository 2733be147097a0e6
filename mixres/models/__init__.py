"""Flax Linen modules: encoder/decoder families, discriminators, probe head."""
