"""Chairside pages. Session pages (views_session) and the protocol library, orders, printable
record and monitor log (views_library) keep their own pattern lists."""

from ketaclinic.infusions.views_library import urlpatterns as library_urls
from ketaclinic.infusions.views_session import urlpatterns as session_urls

app_name = "infusions"
urlpatterns = session_urls + library_urls
