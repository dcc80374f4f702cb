"""Presentation: rich tables, JSON documents and matplotlib figures.

Renderers take the plain dataclasses returned by :mod:`nncli.core` and decide how
they look; they never compute anything a script would need.
"""
