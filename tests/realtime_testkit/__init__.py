"""Shared realtime test clients (SSE, WebSocket) and the demo backend for realtime.nginx.

One implementation used by molecule verify tests, benchmarks, the demo and the
unit tests, so that "streamed promptly" and "echoed correctly" mean the same
thing everywhere. ``backend.py`` is deliberately not imported here: it is a
standalone file copied into target containers.
"""

from .sse import SseEvent, SseResult, assert_streamed, delays, read_sse
from .ws import (RawResponse, WsResult, decode_server_frames, encode_client_frame,
                 raw_handshake, ws_echo)

__all__ = ["SseEvent", "SseResult", "assert_streamed", "delays", "read_sse",
           "RawResponse", "WsResult", "decode_server_frames", "encode_client_frame",
           "raw_handshake", "ws_echo"]
