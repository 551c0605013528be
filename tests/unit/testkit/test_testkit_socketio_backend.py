"""tests/realtime_testkit/socketio_backend.py: the Socket.IO server the socketio
scenario runs twice behind nginx. Run as a subprocess, as in the containers,
with the controller's python-socketio client (polling first, then the upgrade).
The socketio_backend fixture is in conftest.py."""

import asyncio

import socketio


async def _session(url, transports, messages):
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, transports=transports, wait_timeout=5)
    try:
        answers = [await client.call("echo", message, timeout=5) for message in messages]
        return client.transport(), answers
    finally:
        await client.disconnect()


def test_echo_names_the_backend_after_the_upgrade(socketio_backend):
    transport, answers = asyncio.run(_session(socketio_backend.base, ["polling", "websocket"], ["a", {"n": 2}]))
    assert transport == "websocket", socketio_backend.log()
    assert answers == [{"data": "a", "backend": "sio-unit", "transport": "websocket"},
                       {"data": {"n": 2}, "backend": "sio-unit", "transport": "websocket"}]


def test_polling_only_session_stays_on_polling(socketio_backend):
    transport, answers = asyncio.run(_session(socketio_backend.base, ["polling"], ["p"]))
    assert transport == "polling"
    assert answers == [{"data": "p", "backend": "sio-unit", "transport": "polling"}]


def test_sigterm_exits_cleanly(socketio_backend):
    assert socketio_backend.stop(timeout=8) == 0, socketio_backend.log()
