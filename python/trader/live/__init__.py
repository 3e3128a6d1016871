"""The live node (``trader live``): configuration, feeds, the node, its control API and metrics."""
