from django.urls import path

from ketaclinic.website import views

app_name = "website"
urlpatterns = [
    path("", views.home, name="home"),
    path("ketamine-infusion-for-migraine/", views.treatment, name="treatment"),
    path("questions/", views.questions, name="questions"),
    path("contact/", views.contact, name="contact"),
    path("contact/thanks/", views.contact_thanks, name="contact_thanks"),
    path("staff/website/", views.editor, name="editor"),
    path("staff/website/pages/<slug:slug>/", views.page_edit, name="page_edit"),
    path("staff/website/questions/new/", views.faq_new, name="faq_new"),
    path("staff/website/questions/<int:pk>/", views.faq_edit, name="faq_edit"),
]
