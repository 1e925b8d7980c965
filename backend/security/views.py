"""The staff two-factor page: enrol a TOTP device (QR code as server-rendered SVG) or, once
enrolled, verify this session with a code from it."""

import qrcode
from django import forms
from django.contrib.admin import site as admin_site
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from backend.security.otp import safe_next

ENROLMENT_DEVICE_NAME = "Authenticator app"


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Six-digit code", min_length=6, max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def qr_svg(data: str) -> str:
    """The QR code of `data` as inline SVG markup (no script, no style attribute: CSP-clean)."""
    image = qrcode.make(data, image_factory=SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=ENROLMENT_DEVICE_NAME, confirmed=False)


@never_cache
@login_required(login_url="admin:login")
def otp_page(request):
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    enrolling = confirmed is None
    device = _pending_device(user) if enrolling else confirmed
    next_url = safe_next(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            otp_login(request, device)
            return HttpResponseRedirect(next_url)
        form.add_error("token", "That code is not valid (or was already used). Wait for the next one and try again.")
    context = {
        **admin_site.each_context(request),
        "title": "Set up two-factor authentication" if enrolling else "Two-factor verification",
        "enrolling": enrolling,
        "form": form,
        "next": next_url,
        "qr_svg": mark_safe(qr_svg(device.config_url)) if enrolling else "",  # nosec B308 B703: our own SVG from qrcode
        "secret": _base32(device) if enrolling else "",
    }
    return TemplateResponse(request, "security/otp.html", context)


def _base32(device: TOTPDevice) -> str:
    from base64 import b32encode

    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def lockout(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a clear page (429) saying what happened and what to do."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    # Rendered now: axes returns it from the middleware's response phase.
    return render(
        request, "security/lockout.html",
        {**admin_site.each_context(request), "title": "Too many failed logins", "minutes": minutes},
        status=429,
    )
