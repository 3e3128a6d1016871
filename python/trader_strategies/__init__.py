"""Strategies bundled with trader, registered as plugins through the entry-point group ``trader``
like any third party's. (None is registered yet: they land here with the Strategy API.)"""
