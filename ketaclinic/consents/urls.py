from django.urls import path  # noqa: F401

app_name = "consents"
urlpatterns: list = []  # type: ignore[type-arg]
