"""Cookie sessions, staff login and flash messages, skipped on the bearer-key API.

The data plane and the admin plane's JSON API authenticate every request by its
`Authorization: Bearer` key (hogsend_site/auth.py) and never read a session, the
Django user or messages. Django's middlewares still built a session store, a lazy
user and two message stores for each of those requests and looked at them again
on the way out: about a twentieth of the CPU of a `POST /v1/events`. These
subclasses (listed in MIDDLEWARE in place of Django's, so the admin's checks that
they are installed still pass) do their work everywhere else: the admin, the
hosted pages (answers, unsubscribe, preferences), webhooks and the API docs.
"""

from __future__ import annotations

import re

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse

# An allow-list: a route added under another prefix keeps the full middleware.
API_ROUTE = re.compile(r"^/v1/(?:events|contacts|lists|emails|campaigns|admin)(?:/|$)")


def is_api_route(request: HttpRequest) -> bool:
    return API_ROUTE.match(request.path_info) is not None


class SessionMiddleware(sessions.SessionMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_route(request):
            return self.get_response(request)
        return super().__call__(request)


class AuthenticationMiddleware(auth.AuthenticationMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_route(request):
            return self.get_response(request)
        return super().__call__(request)


class MessageMiddleware(messages.MessageMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_route(request):
            return self.get_response(request)
        return super().__call__(request)
