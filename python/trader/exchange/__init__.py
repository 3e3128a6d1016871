"""The local exchange: trader's own venue behind a protocol front that follows a venue's
documentation — Binance (spot REST + WebSocket API, USDⓈ-M REST + listenKey streams) or Bybit v5
(``venue="bybit"``: spot + linear REST, public and private streams) — driven by the synthetic feed
or a recording, with seeded chaos on request.

    from trader.exchange import serve_in_thread

    with serve_in_thread(feed_options={"seed": 7, "rate": 200}) as ex:
        key = ex.accounts[0]            # {"api_key": ..., "secret": ...}
        ...                             # REST at ex.base_url, streams at ex.spot_stream_url, ...
        ex.books(key["api_key"], "spot")

The same server from the command line: ``trader exchange serve --port 8080 [--venue bybit]``.
"""

from trader.exchange.server import DEFAULT_RATE_LIMITS, Exchange, ExchangeHandle, serve_in_thread

__all__ = ["serve_in_thread", "Exchange", "ExchangeHandle", "DEFAULT_RATE_LIMITS"]
