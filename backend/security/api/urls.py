from django.urls import path

from backend.security.api.tokens import OwnTokenView

urlpatterns = [path("token/", OwnTokenView.as_view(), name="auth-token")]
