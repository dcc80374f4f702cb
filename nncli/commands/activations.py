"""``nncli activations``: the catalogue of every activation nncli knows."""

from __future__ import annotations

from nncli.commands._options import JsonOpt


def activations(json_out: JsonOpt = False) -> None:
    """List every activation: formula, range, zero-centred, saturation, max |f′|, use, loss, init.

    The same table as `nncli plot --list`. `nncli plot NAME --info` explains one.
    """
    show_catalogue("activations", json_out)


def show_catalogue(command: str, json_out: bool) -> None:
    """Shared by ``nncli activations`` and ``nncli plot --list``."""
    from nncli.core.activation.activations import ACTIVATIONS

    entries = list(ACTIVATIONS.values())
    if json_out:
        from nncli.render.jsonout import emit

        emit(command, {"activations": [a.properties() for a in entries]})
        return
    from nncli.render.activation_tables import render_catalogue
    from nncli.render.console import stdout_console

    render_catalogue(entries, stdout_console())
