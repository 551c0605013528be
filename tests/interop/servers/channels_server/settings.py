"""Django settings of the interop's Channels project: only what it needs.

ALLOWED_HOSTS is exactly the name the clients ask for, so a request whose
Host was lost or rewritten on the way is answered 400 (DisallowedHost), and
AllowedHostsOriginValidator refuses a WebSocket whose Origin names another
host (403).
"""

import json
import pathlib

CONTRACT = json.loads((pathlib.Path(__file__).resolve().parents[2] / "contract.json").read_text())

SECRET_KEY = "interop-test-only"  # signs nothing: no sessions, no CSRF forms
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = ["daphne", "channels"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "channels_server.urls"
ASGI_APPLICATION = "channels_server.asgi.application"
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.security": {"handlers": ["console"], "level": "ERROR"}}}
