"""The contract's WebSocket side as a Channels consumer."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from .settings import CONTRACT

WS = CONTRACT["ws"]
CLOSES = []


class EchoConsumer(AsyncWebsocketConsumer):
    closed_here = False

    async def connect(self):
        offered = [protocol for protocol in self.scope["subprotocols"] if protocol in WS["subprotocols"]]
        await self.accept(offered[0] if offered else None)
        headers = {name.decode().lower(): value.decode() for name, value in self.scope["headers"]}
        # Daphne does not tell the application which extensions it negotiated.
        await self.send(json.dumps(dict(server="channels", path=self.scope["path"],
                                        query=self.scope["query_string"].decode(), headers=headers,
                                        subprotocol=offered[0] if offered else None, extensions=None)))

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is not None and text_data.startswith(WS["close_command"]):
            code, reason = text_data[len(WS["close_command"]):].split(":", 1)
            self.closed_here = True
            await self.close(code=int(code), reason=reason)
        elif text_data is not None:
            await self.send(text_data=text_data)
        else:
            await self.send(bytes_data=bytes_data)

    async def disconnect(self, code):
        if not self.closed_here:  # daphne passes the client's close code on, but not its reason
            CLOSES.append({"code": code, "reason": None})
