"""The notifications page: one's own notifications, newest first, read and unread; opening one
(it is read, and leads to its thing); marking one or all read; the digest's frequency. Someone
else's notification is a 404, as if it did not exist."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from essaim.accounts.models import Notification, NotificationSettings
from essaim.accounts.services import notifications as svc
from essaim.lib.pagination import time_keyset

PAGE_SIZE = 30
CURSOR = "avant"


class DigestForm(forms.Form):
    digest = forms.ChoiceField(
        label=gettext_lazy("Récapitulatif par e-mail"),
        help_text=gettext_lazy(
            "Les notifications non lues que vous n'avez pas encore reçues, en un seul message."
        ),
        choices=NotificationSettings.Digest.choices,
        widget=forms.RadioSelect,
    )


def _page(request: HttpRequest, form: DigestForm, status: int = 200) -> HttpResponse:
    rows, next_cursor = time_keyset(
        svc.of(request.user),
        "created_at",
        request.GET.get(CURSOR, ""),
        PAGE_SIZE,
        descending=True,
    )
    return render(
        request,
        "accounts/notifications.html",
        {
            "entries": svc.entries(rows),
            "unread": svc.unread_count(request.user),
            "next_url": f"{request.path}?{CURSOR}={next_cursor}" if next_cursor else "",
            "first_url": request.path if CURSOR in request.GET else "",
            "form": form,
        },
        status=status,
    )


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    return _page(request, DigestForm(initial={"digest": svc.digest_choice(request.user)}))


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to its thing: it is read from now on (a link, as in any mailbox;
    marking one's own notification read is all a forged request could do)."""
    try:
        notification = svc.mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    (entry,) = svc.entries([notification])
    if not entry.url:
        messages.info(request, gettext("Ce dont parlait cette notification n'existe plus."))
        return redirect("accounts:notifications")
    return redirect(entry.url)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        svc.mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    return redirect("accounts:notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    done = svc.mark_all_read(user=request.user)
    if done:
        messages.success(
            request,
            ngettext(
                "%(n)d notification marquée comme lue.",
                "%(n)d notifications marquées comme lues.",
                done,
            )
            % {"n": done},
        )
    return redirect("accounts:notifications")


@login_required
@require_POST
def notification_digest(request: HttpRequest) -> HttpResponse:
    form = DigestForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    svc.set_digest(user=request.user, digest=form.cleaned_data["digest"])
    messages.success(request, gettext("Votre choix de récapitulatif est enregistré."))
    return redirect("accounts:notifications")
