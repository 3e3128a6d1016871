"""What every venue adapter shares (issue 16: "shared code lives once; a venue's folder holds only what
is that venue's"): signing in :mod:`.auth` (HMAC-SHA256 in hex and base64, :class:`Credentials`, the
redacting log filter); the WebSocket connection with backoff and reconnect in :mod:`.ws`; the REST
pieces in :mod:`.http` (typed errors, rate budgets, the per-host state, the REST client's plumbing
:class:`.http.RestClient`); the execution reports in :mod:`.reports`; the order-book sync skeleton and
an L2 book in :mod:`.book`; ``k=v`` options as a config in :mod:`.options` and the plugin objects
built on them in :mod:`.plugin`; an order command's checks and decimal rounding in :mod:`.orders`;
the config fields' checks in :mod:`.config`."""

from .auth import (
    Credentials,
    RedactingFilter,
    encode_query,
    hmac_sha256_base64,
    hmac_sha256_hex,
    install_redaction,
    redact,
)

__all__ = ["Credentials", "RedactingFilter", "encode_query", "hmac_sha256_base64", "hmac_sha256_hex",
           "install_redaction", "redact"]
