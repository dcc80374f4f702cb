"""The user's own ``nn.Module`` (``--model SPEC``): find it, build it, feed it, run it."""
