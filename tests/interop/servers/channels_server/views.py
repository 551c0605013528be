"""The contract's HTTP side as Django async views; the SSE stream is a StreamingHttpResponse."""

import asyncio
import json
import time

from django.http import JsonResponse, StreamingHttpResponse

from .consumers import CLOSES
from .settings import CONTRACT

SSE = CONTRACT["sse"]


def record(request, **extra):
    headers = {name.lower(): value for name, value in request.headers.items()}
    return dict(server="channels", path=request.path, query=request.META.get("QUERY_STRING", ""), headers=headers,
                **extra)


def option(request, name):
    value = request.GET.get(name, SSE["defaults"].get(name))
    return value if name == "eol" or value is None else int(value)


async def headers(request):
    return JsonResponse(record(request))


async def closes(request):
    return JsonResponse(CLOSES, safe=False)


async def sse(request):
    eol = SSE["eols"][option(request, "eol")]
    retry, heartbeat, interval = option(request, "retry"), option(request, "heartbeat"), option(request, "interval")

    def block(*lines):
        return "".join(line + eol for line in lines + ("",))

    async def events():
        yield block(*(["retry: %d" % retry] if retry is not None else []), "event: " + SSE["hello_event"],
                    "data: " + json.dumps(record(request)))
        first = int(request.headers.get("Last-Event-ID", 0)) + 1
        for number in range(first, first + option(request, "count")):
            waited = 0
            while heartbeat and waited + heartbeat < interval:
                await asyncio.sleep(heartbeat / 1000)
                waited += heartbeat
                yield SSE["heartbeat_comment"] + eol
            await asyncio.sleep((interval - waited) / 1000)
            yield block("id: %d" % number,
                        "data: " + json.dumps({"n": number, "sent": time.time(), "pad": "x" * option(request, "size")}))

    return StreamingHttpResponse(events(), content_type="text/event-stream", headers={"Cache-Control": "no-cache"})
