from ketaclinic.core.testing import Route

ROUTES: dict[str, Route] = {}
