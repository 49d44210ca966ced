from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from onewindow.licences import views, views_wallet

app_name = "licences"
urlpatterns: list[URLPattern | URLResolver] = [
    path("verify/", views.verify, name="verify"),
    path("verify/<str:number>/", views.verify_number, name="verify_number"),
    path("manage/", views.manage_index, name="manage"),
    path("manage/<str:number>/", views.licence_detail, name="detail"),
    path("manage/<str:number>/revoke/", views.licence_revoke, name="revoke"),
    # The holder's wallet and share links (docs/licences.md, "Wallet").
    path("mine/", views_wallet.wallet_index, name="wallet"),
    path("mine/<str:number>/", views_wallet.wallet_detail, name="wallet_detail"),
    path("mine/<str:number>/pdf/", views_wallet.wallet_pdf, name="wallet_pdf"),
    path("mine/<str:number>/signed-json/", views_wallet.wallet_signed_json, name="wallet_signed_json"),
    path("mine/<str:number>/shares/", views_wallet.wallet_share_create, name="wallet_share_create"),
    path(
        "mine/<str:number>/shares/<int:share_id>/revoke/",
        views_wallet.wallet_share_revoke,
        name="wallet_share_revoke",
    ),
    path("shared/<str:token>/", views_wallet.shared, name="shared"),
    path("shared/<str:token>/pdf/", views_wallet.shared_pdf, name="shared_pdf"),
]
