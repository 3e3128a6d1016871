"""Tests of the OKX v5 execution adapter (protocol, execution client against the local exchange)."""
