"""The OKX v5 adapter. For now its signing only (:mod:`.auth`: REST headers, the private
WebSocket's login message and the server's check of both); the data and execution clients, and the
plugin registration, come later (issue 16)."""

from .auth import Credentials, signed_payload, verify, verify_ws_login, ws_login_message

__all__ = ["Credentials", "signed_payload", "verify", "verify_ws_login", "ws_login_message"]
