"""Django's PostgreSQL backend with a health check that costs no round trip while
the connection is quiet (hogsend_site/postgresql/base.py)."""
