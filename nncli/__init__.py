"""nncli: make the building blocks of a neural network visible and checkable.

The package root stays import-light on purpose: ``nncli --help``, ``--version``
and shell completion import it on every keystroke, so torch and matplotlib are
only imported inside the functions that need them.
"""

__version__ = "0.1.0"
