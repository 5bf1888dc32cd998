"""Turning files into flows: Python flow files, spec flows (JSON/YAML), flows as data."""
