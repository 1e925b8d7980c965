"""/api/v1/auth/token/: the caller's own API token, listed (masked), rotated and revoked.

DRF's authtoken keeps one token per user, and `Authorization: Token <key>` and
`manage.py drf_create_token` keep working unchanged. The key is shown once, in the answer to
the rotation; listing shows only its first characters.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

SHOWN_PREFIX = 6


def masked(token: Token) -> dict:
    return {"prefix": token.key[:SHOWN_PREFIX], "masked": token.key[:SHOWN_PREFIX] + "…", "created": token.created}


class TokenInfoSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    masked = serializers.CharField()
    created = serializers.DateTimeField()


class TokenListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = TokenInfoSerializer(many=True)


class NewTokenSerializer(TokenInfoSerializer):
    key = serializers.CharField(help_text="The new key. Shown only here: store it now.")


class OwnTokenView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token_management"

    @extend_schema(responses=TokenListSerializer, summary="List your API token (masked)")
    def get(self, request):
        tokens = list(Token.objects.filter(user=request.user))
        return Response({"count": len(tokens), "results": [masked(t) for t in tokens]})

    @extend_schema(request=None, responses={201: NewTokenSerializer}, summary="Rotate: replace your API token")
    def post(self, request):
        with transaction.atomic():
            Token.objects.filter(user=request.user).delete()
            token = Token.objects.create(user=request.user)
        return Response({**masked(token), "key": token.key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="Revoke your API token")
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


