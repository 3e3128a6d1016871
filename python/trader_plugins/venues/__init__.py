"""Venue adapters: the plugins that connect trader's live node to real exchanges (one package per
venue, each with its data client, execution client and ``plugin.py`` hook implementations)."""
