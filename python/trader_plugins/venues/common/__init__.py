"""What every venue adapter shares (issue 16: "shared code lives once; a venue's folder holds only what
is that venue's"): for now the signing slice in :mod:`.auth` (HMAC-SHA256 in hex and base64,
:class:`Credentials`, the redacting log filter)."""

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
