from django.urls import path

from ketaclinic.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.inventory_home, name="home"),
    path("products/new/", views.product_new, name="product_new"),
    path("products/<int:pk>/", views.product_edit, name="product_edit"),
    path("receive/", views.receive, name="receive"),
    path("containers/<int:pk>/", views.container_detail, name="container"),
    path("containers/<int:pk>/waste/", views.waste, name="waste"),
    path("containers/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("containers/<int:pk>/loss/", views.loss, name="loss"),
    path("containers/<int:pk>/return/", views.return_container, name="return"),
    path("containers/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("containers/<int:pk>/destroy/", views.destroy, name="destroy"),
    path("entries/<int:pk>/correct/", views.correct, name="correct"),
    path("count/", views.count, name="count"),
    path("discrepancies/", views.discrepancy_list, name="discrepancies"),
    path("discrepancies/<int:pk>/", views.discrepancy_resolve, name="discrepancy_resolve"),
    path("reports/", views.reports_home, name="reports"),
    path("reports/dispensing-record.csv", views.dispensing_record_csv, name="dispensing_record_csv"),
    path("reports/dispensing-record.pdf", views.dispensing_record_pdf, name="dispensing_record_pdf"),
    path("inventories/new/", views.inventory_new, name="inventory_new"),
    path("inventories/<int:pk>/", views.inventory_detail, name="inventory_detail"),
    path("inventories/<int:pk>/inventory.csv", views.inventory_csv, name="inventory_csv"),
    path("inventories/<int:pk>/inventory.pdf", views.inventory_pdf, name="inventory_pdf"),
]
