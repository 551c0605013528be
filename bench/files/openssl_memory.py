"""What OpenSSL itself keeps per idle TLS server connection, counted by glibc; run inside the bench container.

``python3 openssl_memory.py CERT KEY N [tls1.2|tls1.3] [tickets]`` prints one
JSON object. Standard library only (ctypes): it drives the container's own
libssl.so.3, the one nginx is linked with, the way nginx sets it up
(``SSL_MODE_RELEASE_BUFFERS``, no internal session cache, no session tickets
unless asked), over memory BIOs instead of sockets, and reads glibc's
``mallinfo2()`` between the stages:

1. N server connections created (``SSL_new``), nothing sent yet;
2. each one's handshake with a client, a 300-byte request read (and one more
   ``SSL_read`` that finds nothing, as nginx's idle read does) and a 200-byte
   response written; the client is freed and the server's memory BIOs are
   replaced with empty ones, so what is counted is the server connection alone;
3. ``SSL_free_buffers()`` on each: the record buffers it still held.

Bytes per connection of each stage, and glibc's free bytes (memory the
handshakes used and freed, which stays in the heap).
"""

import ctypes
import json
import sys

P, INT, LONG = ctypes.c_void_p, ctypes.c_int, ctypes.c_long
SSL_LIB, CRYPTO, LIBC = ctypes.CDLL("libssl.so.3"), ctypes.CDLL("libcrypto.so.3"), ctypes.CDLL("libc.so.6")
SSL_CTRL_MODE, SSL_CTRL_SET_SESS_CACHE_MODE = 33, 44
SSL_CTRL_SET_MIN_PROTO_VERSION, SSL_CTRL_SET_MAX_PROTO_VERSION = 123, 124
SSL_MODE_RELEASE_BUFFERS, SSL_OP_NO_TICKET = 0x10, 1 << 14
SSL_SESS_CACHE_SERVER, SSL_SESS_CACHE_NO_INTERNAL = 0x2, 0x300
VERSIONS = {"tls1.2": 0x0303, "tls1.3": 0x0304}
SSL_FILETYPE_PEM = 1


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _fn(lib, name, restype, *argtypes):
    func = getattr(lib, name)
    func.restype, func.argtypes = restype, list(argtypes)
    return func


LIBC.mallinfo2.restype = MallInfo2
TLS_server_method = _fn(SSL_LIB, "TLS_server_method", P)
TLS_client_method = _fn(SSL_LIB, "TLS_client_method", P)
SSL_CTX_new = _fn(SSL_LIB, "SSL_CTX_new", P, P)
SSL_CTX_ctrl = _fn(SSL_LIB, "SSL_CTX_ctrl", LONG, P, INT, LONG, P)
SSL_CTX_set_options = _fn(SSL_LIB, "SSL_CTX_set_options", ctypes.c_uint64, P, ctypes.c_uint64)
SSL_CTX_use_certificate_chain_file = _fn(SSL_LIB, "SSL_CTX_use_certificate_chain_file", INT, P, ctypes.c_char_p)
SSL_CTX_use_PrivateKey_file = _fn(SSL_LIB, "SSL_CTX_use_PrivateKey_file", INT, P, ctypes.c_char_p, INT)
SSL_new = _fn(SSL_LIB, "SSL_new", P, P)
SSL_free = _fn(SSL_LIB, "SSL_free", None, P)
SSL_set_bio = _fn(SSL_LIB, "SSL_set_bio", None, P, P, P)
SSL_set_accept_state = _fn(SSL_LIB, "SSL_set_accept_state", None, P)
SSL_set_connect_state = _fn(SSL_LIB, "SSL_set_connect_state", None, P)
SSL_do_handshake = _fn(SSL_LIB, "SSL_do_handshake", INT, P)
SSL_read = _fn(SSL_LIB, "SSL_read", INT, P, P, INT)
SSL_write = _fn(SSL_LIB, "SSL_write", INT, P, P, INT)
SSL_free_buffers = _fn(SSL_LIB, "SSL_free_buffers", INT, P)
BIO_s_mem = _fn(CRYPTO, "BIO_s_mem", P)
BIO_new = _fn(CRYPTO, "BIO_new", P, P)
BIO_read = _fn(CRYPTO, "BIO_read", INT, P, P, INT)
BIO_write = _fn(CRYPTO, "BIO_write", INT, P, P, INT)
BUF = ctypes.create_string_buffer(1 << 17)
REQUEST, RESPONSE = b"G" * 300, b"H" * 200


def context(server: bool, cert: str, key: str, version: str, tickets: bool):
    ctx = SSL_CTX_new(TLS_server_method() if server else TLS_client_method())
    if version:
        for ctrl in (SSL_CTRL_SET_MIN_PROTO_VERSION, SSL_CTRL_SET_MAX_PROTO_VERSION):
            SSL_CTX_ctrl(ctx, ctrl, VERSIONS[version], None)
    if server:
        assert SSL_CTX_use_certificate_chain_file(ctx, cert.encode()) == 1, "certificate"
        assert SSL_CTX_use_PrivateKey_file(ctx, key.encode(), SSL_FILETYPE_PEM) == 1, "key"
        SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, None)
        SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL, None)
        if not tickets:
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET)
    return ctx


def attach(ssl):
    """Two fresh memory BIOs on SSL: (its input, its output)."""
    rbio, wbio = BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem())
    SSL_set_bio(ssl, rbio, wbio)
    return rbio, wbio


def move(wbio, rbio) -> None:
    """Everything written to WBIO into RBIO."""
    while True:
        n = BIO_read(wbio, BUF, len(BUF))
        if n <= 0:
            return
        BIO_write(rbio, BUF, n)


def serve(server, client_ctx) -> None:
    """SERVER's handshake with a new client, a request read and a response written, the client freed."""
    client = SSL_new(client_ctx)
    s_in, s_out = attach(server)
    c_in, c_out = attach(client)
    SSL_set_accept_state(server)
    SSL_set_connect_state(client)
    done = (0, 0)
    for unused in range(20):
        done = (SSL_do_handshake(client), done[1])
        move(c_out, s_in)
        done = (done[0], SSL_do_handshake(server))
        move(s_out, c_in)
        if done == (1, 1):
            break
    assert done == (1, 1), "handshake did not complete"
    assert SSL_write(client, REQUEST, len(REQUEST)) == len(REQUEST)
    move(c_out, s_in)
    assert SSL_read(server, BUF, len(BUF)) == len(REQUEST)
    assert SSL_read(server, BUF, len(BUF)) <= 0  # nothing more: the idle read of a held stream
    assert SSL_write(server, RESPONSE, len(RESPONSE)) == len(RESPONSE)
    move(s_out, c_in)
    assert SSL_read(client, BUF, len(BUF)) == len(RESPONSE)
    SSL_free(client)
    attach(server)  # the used memory BIOs (their buffers) go; nginx's socket BIO has none


def main(argv) -> dict:
    cert, key, n = argv[1], argv[2], int(argv[3])
    version = argv[4] if len(argv) > 4 and argv[4] in VERSIONS else ""
    tickets = "tickets" in argv[4:]
    server_ctx = context(True, cert, key, version, tickets)
    client_ctx = context(False, cert, key, version, True)
    servers = [None] * n
    serve(SSL_new(server_ctx), client_ctx)  # the first handshake loads what every later one shares
    base = LIBC.mallinfo2()
    for i in range(n):
        servers[i] = SSL_new(server_ctx)
    created = LIBC.mallinfo2()
    for server in servers:
        serve(server, client_ctx)
    idle = LIBC.mallinfo2()
    for server in servers:
        SSL_free_buffers(server)
    freed = LIBC.mallinfo2()

    def per(a, b, field="uordblks"):
        return round((getattr(b, field) - getattr(a, field)) / n / 1024.0, 2)

    return {"connections": n, "version": version or "tls1.2 and tls1.3", "tickets": tickets,
            "ssl_new_kb": per(base, created), "after_handshake_kb": per(base, idle),
            "handshake_added_kb": per(created, idle), "buffers_freed_kb": -per(idle, freed),
            "free_after_handshakes_kb": per(base, idle, "fordblks")}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv)))
