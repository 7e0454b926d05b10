from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ketaclinic.core"
    label = "core"
