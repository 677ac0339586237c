"""WSGI entry point (gunicorn hogsend_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hogsend_site.settings")
application = get_wsgi_application()

# The start-up heap frozen before gunicorn forks its workers (with --preload; without,
# in each worker after it loads the app).
from hogsend_site.gc_tuning import server_gc_tune  # noqa: E402

server_gc_tune()
