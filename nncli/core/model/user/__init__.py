"""The user's own ``nn.Module`` (``--model SPEC``): find it, build it, feed it, run it.

By role, bottom up: ``target`` (resolve SPEC, check --model-kwargs), ``inputs`` (the
input options and files), ``call`` (the one guarded call of the user's code: its
output to stderr, one construction, the forward pass and its failures),
``metashapes`` (the commonest layers' outputs on meta by arithmetic), ``request``
(``ModelRequest``: the options both commands take), then the two commands' cores,
``summary`` and ``run``.
"""
