"""The ASGI application daphne serves: Django's views for HTTP, the consumer for WebSocket.

    DJANGO_SETTINGS_MODULE=channels_server.settings daphne -b 127.0.0.1 -p PORT channels_server.asgi:application
"""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels_server.settings")
django_application = get_asgi_application()

from .consumers import EchoConsumer  # noqa: E402  # pylint: disable=wrong-import-position  # needs Django set up
from .settings import CONTRACT  # noqa: E402  # pylint: disable=wrong-import-position

application = ProtocolTypeRouter({
    "http": django_application,
    "websocket": AllowedHostsOriginValidator(URLRouter([path(CONTRACT["paths"]["ws"].lstrip("/"), EchoConsumer.as_asgi())])),
})
