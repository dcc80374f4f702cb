"""Models: what a config describes and how it is counted, built and run.

By role: ``spec`` (the dataclasses), ``config`` (TOML in and out), ``layertypes``
(the layer-type registry), ``counting`` (parameter formulas, the mult-adds rule),
``summarize`` (a config's summary, from its spec), ``results`` (what summary and run
return), ``build`` (torch modules), ``forward`` (run's forward pass), ``budgets``
(--max-params, --max-memory); ``hooks`` and ``user/`` summarise and run a user's
own ``nn.Module`` (--model).
"""
