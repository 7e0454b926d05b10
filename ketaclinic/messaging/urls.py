from django.urls import path

from ketaclinic.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.conversation_list, name="conversations"),
    path("log/", views.message_log, name="log"),
    path("<int:pk>/", views.conversation_detail, name="conversation"),
    path("<int:pk>/consent/", views.record_consent, name="record_consent"),
    path("<int:pk>/opt-out/", views.record_opt_out, name="record_opt_out"),
]
