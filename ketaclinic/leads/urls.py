from django.urls import path  # noqa: F401

app_name = "leads"
urlpatterns: list = []  # type: ignore[type-arg]
