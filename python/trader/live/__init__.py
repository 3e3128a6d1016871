"""The live node (`trader live`): configuration, feeds, the node and its controls."""
