from django.urls import path

from . import views
from .settings import CONTRACT

PATHS = CONTRACT["paths"]
urlpatterns = [
    path(PATHS["headers"].lstrip("/"), views.headers),
    path(PATHS["closes"].lstrip("/"), views.closes),
    path(PATHS["sse"].lstrip("/"), views.sse),
]
