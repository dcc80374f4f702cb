"""Training on toy data: the datasets, the training loop and checkpoints."""
