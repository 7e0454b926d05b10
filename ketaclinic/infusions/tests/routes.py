"""Who may open the chairside pages and API (merged into the route walk)."""

from ketaclinic.infusions.tests.routes_api import ROUTES as API_ROUTES
from ketaclinic.infusions.tests.routes_library import ROUTES as LIBRARY_ROUTES
from ketaclinic.infusions.tests.routes_session import ROUTES as SESSION_ROUTES

ROUTES = {**SESSION_ROUTES, **LIBRARY_ROUTES, **API_ROUTES}
