"""``nncli activations``: the catalogue of every activation nncli knows."""

from __future__ import annotations

from nncli.commands._options import JsonOpt


def activations(json_out: JsonOpt = False) -> None:
    """List every activation: formula, range, zero-centred, saturation, max |f′|, use, loss, init.

    The same table as `nncli plot --list`. `nncli plot NAME --info` explains one.
    """
    from nncli.render.activation_tables import show_catalogue

    show_catalogue("activations", json_out)
