"""Helpers for tests that meet the staff two-factor gate: a current TOTP code for a device, and
a test client session marked as verified (what /security/otp/ leaves behind)."""

import time


def totp_code(device, at: float | None = None) -> str:
    """The code an authenticator app shows now for `device` (a django-otp TOTPDevice)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def otp_verify_session(client, user):
    """Mark `client`'s session as two-factor verified for `user` through django-otp's
    `otp_login`, with a confirmed TOTP device (made if the user has none). Returns the device."""
    from django.http import HttpRequest
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test device", confirmed=True
    )
    request = HttpRequest()
    request.session = client.session
    request.user = user
    otp_login(request, device)
    request.session.save()
    return device


def pass_second_factor_in_browser(driver, username: str, timeout: float = 15) -> None:
    """In a selenium-driven browser that just logged in as `username`: complete the two-factor
    page (enrolment or verification) with the code the user's device shows now, and wait until
    the browser has left it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.expected_conditions import staleness_of

    # The login POST is still navigating when we arrive: elements found mid-navigation can belong
    # to the page being replaced ("Node … does not belong to the document"), so each attempt finds
    # them afresh and a failed one is simply tried again.
    wait = WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,))
    wait.until(lambda d: "/security/otp/" in d.current_url
               and d.execute_script("return document.readyState") == "complete")
    device = TOTPDevice.objects.filter(user__username=username).order_by("-confirmed", "-pk").first()

    def submit_code(d) -> bool:
        if "/security/otp/" not in d.current_url:
            return True  # an earlier attempt went through
        field = d.find_element(By.ID, "id_token")
        field.clear()
        field.send_keys(totp_code(device))
        d.find_element(By.CSS_SELECTOR, "#otp-form input[type=submit]").click()
        # Submitted: wait for this page to go before anything else, so the code is sent once.
        WebDriverWait(d, timeout).until(staleness_of(field))
        return True

    wait.until(submit_code)
    wait.until(lambda d: "/security/otp/" not in d.current_url
               and d.execute_script("return document.readyState") == "complete")
