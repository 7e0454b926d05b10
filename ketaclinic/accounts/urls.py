from django.urls import path

from ketaclinic.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("verify/", views.verify, name="verify"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("mfa/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("mfa/recovery-codes/new/", views.regenerate_codes, name="regenerate_codes"),
    path("logout/", views.sign_out, name="logout"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.token_create, name="token_create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_edit, name="staff_new"),
    path("staff/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/reset-mfa/", views.staff_reset_mfa, name="staff_reset_mfa"),
]
