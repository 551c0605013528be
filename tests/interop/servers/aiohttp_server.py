"""The interop contract (../README.md) on aiohttp, run as its users run it:

    python -m aiohttp.web -H 127.0.0.1 -P PORT aiohttp_server:init

aiohttp answers an HTTP/1.1 request without Host with 400, as it should.
"""

import asyncio
import json
import pathlib
import time

from aiohttp import WSMsgType, web

CONTRACT = json.loads((pathlib.Path(__file__).resolve().parents[1] / "contract.json").read_text())
PATHS, SSE, WS = CONTRACT["paths"], CONTRACT["sse"], CONTRACT["ws"]
CLOSES = []


def record(request, **extra):
    headers = {}
    for name, value in request.headers.items():
        name = name.lower()
        headers[name] = headers[name] + ", " + value if name in headers else value
    return dict(server="aiohttp", path=request.path, query=request.query_string, headers=headers, **extra)


def option(request, name):
    value = request.query.get(name, SSE["defaults"].get(name))
    return value if name == "eol" or value is None else int(value)


async def headers(request):
    return web.json_response(record(request))


async def closes(request):
    return web.json_response(CLOSES)


async def sse(request):
    eol = SSE["eols"][option(request, "eol")]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)

    async def send(*lines):
        await response.write("".join(line + eol for line in lines + ("",)).encode())

    retry = option(request, "retry")
    await send(*(["retry: %d" % retry] if retry is not None else []), "event: " + SSE["hello_event"],
               "data: " + json.dumps(record(request)))
    first = int(request.headers.get("Last-Event-ID", 0)) + 1
    heartbeat = option(request, "heartbeat")
    for number in range(first, first + option(request, "count")):
        waited = 0
        while heartbeat and waited + heartbeat < option(request, "interval"):
            await asyncio.sleep(heartbeat / 1000)
            waited += heartbeat
            await response.write((SSE["heartbeat_comment"] + eol).encode())
        await asyncio.sleep((option(request, "interval") - waited) / 1000)
        data = {"n": number, "sent": time.time(), "pad": "x" * option(request, "size")}
        await send("id: %d" % number, "data: " + json.dumps(data))
    return response


async def websocket(request):
    ws = web.WebSocketResponse(protocols=WS["subprotocols"], max_msg_size=WS["max_message"])
    await ws.prepare(request)
    await ws.send_json(record(request, subprotocol=ws.ws_protocol,
                              extensions=ws.headers.get("Sec-WebSocket-Extensions")))
    while True:
        message = await ws.receive()
        if message.type == WSMsgType.TEXT and message.data.startswith(WS["close_command"]):
            code, reason = message.data[len(WS["close_command"]):].split(":", 1)
            await ws.close(code=int(code), message=reason.encode())
        elif message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data)
        else:  # the client closed (CLOSE: its code and reason), or the socket is gone
            if message.type == WSMsgType.CLOSE:
                CLOSES.append({"code": message.data, "reason": message.extra or ""})
            break
    return ws


def init(argv=None):  # pylint: disable=unused-argument
    app = web.Application()
    app.add_routes([web.get(PATHS["headers"], headers), web.get(PATHS["closes"], closes),
                    web.get(PATHS["sse"], sse), web.get(PATHS["ws"], websocket)])
    return app
