"""WSGI entry point (gunicorn hogsend_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hogsend_site.settings")
application = get_wsgi_application()
