"""Weight initialisation: the scheme registry, its theory, statistics and propagation."""
