"""The interop contract (../README.md) on Starlette with sse-starlette, run as its users run it:

    uvicorn --host 127.0.0.1 --port PORT --app-dir tests/interop/servers starlette_server:app

TrustedHostMiddleware answers 400 to a Host that is not one the clients use.
"""

import asyncio
import json
import pathlib
import time

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

CONTRACT = json.loads((pathlib.Path(__file__).resolve().parents[1] / "contract.json").read_text())
PATHS, SSE, WS = CONTRACT["paths"], CONTRACT["sse"], CONTRACT["ws"]
CLOSES = []


def record(connection, **extra):
    headers = {}
    for name, value in connection.headers.items():
        headers[name] = headers[name] + ", " + value if name in headers else value
    return dict(server="starlette", path=connection.url.path, query=connection.url.query, headers=headers, **extra)


def option(request, name):
    value = request.query_params.get(name, SSE["defaults"].get(name))
    return value if name == "eol" or value is None else int(value)


async def headers(request):
    return JSONResponse(record(request))


async def closes(request):
    return JSONResponse(CLOSES)


async def sse(request):
    async def events():
        yield {"event": SSE["hello_event"], "data": json.dumps(record(request)), "retry": option(request, "retry")}
        first = int(request.headers.get("last-event-id", 0)) + 1
        for number in range(first, first + option(request, "count")):
            await asyncio.sleep(option(request, "interval") / 1000)
            yield {"id": str(number), "data": json.dumps({"n": number, "sent": time.time(), "pad": "x" * option(request, "size")})}

    heartbeat = option(request, "heartbeat")
    return EventSourceResponse(events(), sep=SSE["eols"][option(request, "eol")],
                               ping=heartbeat / 1000 if heartbeat else 3600)


async def websocket(ws):
    offered = [protocol for protocol in ws.scope["subprotocols"] if protocol in WS["subprotocols"]]
    await ws.accept(subprotocol=offered[0] if offered else None)
    # ASGI does not tell the application which extensions uvicorn negotiated.
    await ws.send_json(record(ws, subprotocol=offered[0] if offered else None, extensions=None))
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
            text = message.get("text")
            if text is not None and text.startswith(WS["close_command"]):
                code, reason = text[len(WS["close_command"]):].split(":", 1)
                await ws.close(int(code), reason)
                return
            if text is not None:
                await ws.send_text(text)
            else:
                await ws.send_bytes(message["bytes"])
    except WebSocketDisconnect as gone:
        CLOSES.append({"code": gone.code, "reason": gone.reason or ""})


app = Starlette(routes=[Route(PATHS["headers"], headers), Route(PATHS["closes"], closes), Route(PATHS["sse"], sse),
                        WebSocketRoute(PATHS["ws"], websocket)],
                middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["localhost"])])
