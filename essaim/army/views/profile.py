"""The volunteer's own space: profile, roles and their history, teams, password. Mobile first.
Every query here is keyed by request.user: a volunteer reaches no one else's data."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from essaim.accounts.models import Membership
from essaim.army.forms import ProfileForm
from essaim.army.models import RoleAssignment, RoleTransition, Volunteer
from essaim.army.services.invitations import stats as invitation_stats
from essaim.army.services.profile import update_profile


def own_volunteer(request: HttpRequest) -> Volunteer:
    try:
        return Volunteer.objects.get(user=request.user.pk)
    except Volunteer.DoesNotExist:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    volunteer = own_volunteer(request)
    assignments = list(
        RoleAssignment.objects.filter(volunteer=volunteer)
        .select_related("role", "stage_changed_by")
        .prefetch_related(
            Prefetch("transitions", queryset=RoleTransition.objects.select_related("by"))
        )
        .order_by("role__position", "role_id")
    )
    held = {a.role.slug for a in assignments}
    initial = {
        "first_name": volunteer.first_name,
        "postcode": volunteer.postcode,
        "weekly_hours": volunteer.weekly_hours,
        "windows": [str(i) for i in range(21) if volunteer.windows & (1 << i)],
        "skills": ", ".join(volunteer.skills),
        "languages": volunteer.languages,
    }
    form = ProfileForm(request.POST or None, initial=initial, held=held)
    if request.method == "POST" and form.is_valid():
        update_profile(
            volunteer=volunteer,
            first_name=form.cleaned_data["first_name"],
            postcode=form.cleaned_data["postcode"],
            weekly_hours=form.cleaned_data["weekly_hours"],
            windows=form.cleaned_data["windows"],
            skills=form.cleaned_data["skills"],
            languages=form.cleaned_data["languages"],
            add_role_slugs=form.cleaned_data["add_roles"],
        )
        messages.success(request, _("Votre profil est enregistré."))
        return redirect("army:profile")
    memberships = (
        Membership.objects.filter(user=request.user.pk)
        .exclude(state=Membership.State.LEFT)
        .select_related("team")
        .order_by("team__name")
    )
    return render(
        request,
        "army/profile.html",
        {
            "volunteer": volunteer,
            "assignments": assignments,
            "memberships": memberships,
            "form": form,
            "invitations": invitation_stats(volunteer),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def password(request: HttpRequest) -> HttpResponse:
    """Set a password (an account made by the sign-up has none and logs in by link) or change
    it (then the current one is asked)."""
    user = own_volunteer(request).user  # a volunteer's own account, nothing else
    form: SetPasswordForm = (
        PasswordChangeForm(user, request.POST or None)
        if user.has_usable_password()
        else SetPasswordForm(user, request.POST or None)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, _("Votre mot de passe est enregistré."))
        return redirect("army:profile")
    return render(request, "army/password.html", {"form": form})
