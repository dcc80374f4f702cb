"""One module per subcommand: parse options -> call core -> hand the result to a renderer.

Command modules import torch and matplotlib only inside the command function,
never at module level (``nncli --help`` imports them all).
"""
