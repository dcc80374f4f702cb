"""Activation functions: the registry and the sampled curves."""
