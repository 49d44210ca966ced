from django.urls import path

from onewindow.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("otp/", views.otp_view, name="otp"),
    path("otp/enrol/", views.otp_enrol_view, name="otp_enrol"),
    path("otp/reset/", views.otp_reset_view, name="otp_reset"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_view, name="password"),
    path("locked/", views.locked_view, name="locked"),
    path("unlock/", views.unlock_view, name="unlock"),
]
