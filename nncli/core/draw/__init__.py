"""``nncli draw``'s core: a model as a graph of neurons (a small MLP, as the tutorial
draws it) or of blocks (any other model), as data. Rendering is :mod:`nncli.render`'s."""
