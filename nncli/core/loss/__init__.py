"""Loss functions: the registry, curves, inputs and evaluation."""
