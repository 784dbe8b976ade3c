"""Password reset for local accounts (issue 21 point 3): Django's own views, our templates, a rate limit.

- The four views are Django's (`PasswordResetView` … `PasswordResetCompleteView`); each answers 404
  while `OIDC_ONLY` is true, when people sign in through the identity provider and have no local
  password to reset (the login page hides its "Forgot your password?" link then too).
- Requests are limited per client IP and per e-mail address (`PASSWORD_RESET_RATE_PER_IP`,
  `PASSWORD_RESET_RATE_PER_ADDRESS`, e.g. "10/hour") with counters in the cache. Over either limit the
  person sees the same "check your inbox" page as always, nothing is sent and a warning is logged, so
  the page never tells whether an address has an account. While the cache is away (Redis down, the
  cache fails open) the limit does not apply: the token is still single-use and short-lived.
- The e-mail is plain text, like the notifications (initiatives/notifications.py), sent through the
  same default mailer of `MAILERS`; its link starts with `SITE_URL`, not with the request's Host.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.mail import EmailMessage, mailers
from django.http import Http404
from django.template import loader
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from redis.exceptions import RedisError

from portfolio.oidc import local_passwords_enabled

logger = logging.getLogger(__name__)

KEY_PREFIX = "password-reset"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # "10/hour" → per 3600 seconds; "3/min", "100/day"


def password_reset_enabled() -> bool:
    """Local passwords can be reset unless everyone signs in through the identity provider."""
    return local_passwords_enabled()


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """'10/hour' → (10, 3600); None or '' → None (no limit)."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def rate_limit_hit(scope: str, ident: str, rate: str | None) -> bool:
    """Count one request of `ident` in `scope`; True when that makes it one too many for `rate`.
    The window is fixed: it starts at the first request and lasts the rate's period."""
    parsed = parse_rate(rate)
    if parsed is None:
        return False
    limit, seconds = parsed
    key = f"{KEY_PREFIX}:{scope}:{hashlib.sha256(ident.encode()).hexdigest()}"
    try:
        cache.add(key, 0, seconds)
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        cache.set(key, 1, seconds)
        count = 1
    except RedisError:  # the fail-open cache does not guard incr; no counter, no limit
        return False
    return count > limit


def timeout_minutes() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 60)


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


class LocalAccountsOnly:
    """404 while `OIDC_ONLY` is true. Open to anonymous people (LoginRequiredMiddleware), as Django's are."""

    @method_decorator(login_not_required)
    def dispatch(self, request, *args, **kwargs):
        if not password_reset_enabled():
            raise Http404("Passwords are managed by the identity provider.")
        return super().dispatch(request, *args, **kwargs)


class ResetRequestForm(auth_forms.PasswordResetForm):
    """Django's form, sent through the default mailer as plain text like the notifications."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"class": "form-control form-control-lg", "autofocus": True})

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        subject = " ".join(loader.render_to_string(subject_template_name, context).split())
        body = loader.render_to_string(email_template_name, context)
        message = EmailMessage(subject=subject, body=body, from_email=from_email, to=[to_email])
        try:
            mailers.default.send_messages([message])
        except Exception:  # as Django's own form: the page must not tell whether the address exists
            logger.exception("password reset e-mail to user %s not sent", context["user"].pk)


class PasswordResetView(LocalAccountsOnly, auth_views.PasswordResetView):
    form_class = ResetRequestForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def get_extra_email_context(self):
        return {"site_url": settings.SITE_URL.rstrip("/"), "timeout_minutes": timeout_minutes()}

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()
        over_ip = rate_limit_hit("ip", client_ip(self.request), settings.PASSWORD_RESET_RATE_PER_IP)
        over_address = rate_limit_hit("address", address, settings.PASSWORD_RESET_RATE_PER_ADDRESS)
        if over_ip or over_address:
            logger.warning(
                "password reset refused: over the limit per %s (ip %s)",
                "ip" if over_ip else "address",
                client_ip(self.request),
            )
            return super(auth_views.PasswordResetView, self).form_valid(form)  # the same page, nothing sent
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class PasswordResetDoneView(LocalAccountsOnly, auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, timeout_minutes=timeout_minutes())


class PasswordResetConfirmView(LocalAccountsOnly, auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        for field in form.fields.values():
            field.widget.attrs["class"] = "form-control form-control-lg"
        return form


class PasswordResetCompleteView(LocalAccountsOnly, auth_views.PasswordResetCompleteView):
    pass
