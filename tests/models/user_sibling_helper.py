"""Imported by uses_sibling.py as a top-level module."""

WIDTH = 9
