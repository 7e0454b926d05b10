from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "ketaclinic.leads"
    label = "leads"
