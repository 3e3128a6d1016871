"""The built-in plugins of trader.

They are registered only through the entry-point group ``trader`` of trader's own distribution
(see ``[project.entry-points.trader]`` in pyproject.toml), exactly as a third party's would be.
"""
