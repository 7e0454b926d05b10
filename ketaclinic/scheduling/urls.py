from django.urls import path

from ketaclinic.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("", views.board, name="board"),
    path("week/", views.week, name="week"),
    path("replan/", views.replan, name="replan"),
    path("calendar/", views.calendar, name="calendar"),
    path("series-rules/", views.series_rules, name="series_rules"),
    path("patients/<int:pk>/", views.patient_series, name="patient_series"),
    path("patients/<int:pk>/appointments.ics", views.patient_ics, name="patient_ics"),
    path("series/<int:pk>/", views.series_detail, name="series"),
    path("series/<int:pk>/maintenance-interval/", views.maintenance_interval, name="maintenance_interval"),
    path("patients/<int:pk>/maintenance/", views.maintenance_request, name="maintenance_request"),
    path("series/<int:pk>/waitlist/", views.series_waitlist, name="series_waitlist"),
    path("offers/<int:pk>/", views.offer, name="offer"),
    path("bookings/<int:pk>/status/", views.booking_status, name="booking_status"),
    path("bookings/<int:pk>/check-in/", views.booking_check_in, name="booking_check_in"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
]
