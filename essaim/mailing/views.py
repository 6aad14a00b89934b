"""Campaign pages (HQ only): list, composer, preview and test send, launch with approval,
progress and results, pause/resume/cancel. Thin: parse, authorize, call a service, render."""

from __future__ import annotations

import time
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.accounts.services.vocabulary import number
from essaim.lib.confirm import ask, confirmed, confirmed_count
from essaim.lib.forms import SearchableSelectMultiple
from essaim.lib.frames import sandboxed_document
from essaim.lib.numbers import ascii_int, is_ascii_digits
from essaim.lib.sorting import SortColumn, choice_order, sorting_from
from essaim.lib.text import InvalidValue, normalize_email
from essaim.mailing import rules
from essaim.mailing.models import Campaign, CampaignTemplate, Delivery, ProviderGroup
from essaim.mailing.services import campaigns as svc
from essaim.mailing.services import templates, unknowns
from essaim.mailing.services.progress import (
    campaign_progress,
    campaign_results,
    delivery_counts,
    provider_counts,
)
from essaim.mailing.subjects import readable_subject
from essaim.people.models import Contact, Segment

S = Campaign.Status


def _require(request: HttpRequest) -> None:
    if not rules.can_manage_campaigns(request.user):
        raise PermissionDenied


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("segment", "created_by", "approved_by"), pk=pk
    )


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom interne"), max_length=200, required=False)
    from_address = forms.ChoiceField(label=gettext_lazy("Expéditeur"))
    reply_to = forms.EmailField(label=gettext_lazy("Adresse de réponse"), required=False)
    subject = forms.CharField(
        label=gettext_lazy("Objet"),
        max_length=250,
        help_text=gettext_lazy('Champs personnalisés : {{ first_name|default:"ami·e" }}.'),
    )
    preheader = forms.CharField(
        label=gettext_lazy("Texte d'aperçu"),
        max_length=250,
        required=False,
        help_text=gettext_lazy("Affiché après l'objet dans la plupart des boîtes de réception."),
    )
    body_markdown = forms.CharField(
        label=gettext_lazy("Message (Markdown)"),
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=gettext_lazy(
            'Champs personnalisés : {{ first_name|default:"ami·e" }} ; le lien de '
            "désinscription est ajouté en pied de message."
        ),
    )
    audience = forms.ChoiceField(label=gettext_lazy("Destinataires"))
    exclude_segments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Sauf les membres de"),
        queryset=Segment.objects.all(),
        required=False,
        widget=SearchableSelectMultiple(size=4),
    )
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Envoyer à partir de"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Vide : dès le lancement."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["from_address"]).choices = [
            (address, svc.identity_label(name, address)) for name, address in svc.from_identities()
        ]
        segments = [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]
        cast(forms.ChoiceField, self.fields["audience"]).choices = [
            ("", _("— choisir —")),
            ("all", _("Toute la base joignable")),
            (_("Segments"), segments),
        ]

    @staticmethod
    def initial_from_template(template: CampaignTemplate) -> dict[str, Any]:
        return {
            "subject": template.subject,
            "preheader": template.preheader,
            "body_markdown": template.body_markdown,
        }

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        return {
            "name": campaign.name,
            "from_address": campaign.from_email,
            "reply_to": campaign.reply_to,
            "subject": campaign.subject,
            "preheader": campaign.preheader,
            "body_markdown": campaign.body_markdown,
            "audience": "all" if campaign.audience_all else (campaign.segment_id or ""),
            "exclude_segments": list(campaign.exclude_segments.all()),
            "scheduled_at": campaign.scheduled_at,
        }

    def save(self, *, user: Any, campaign: Campaign | None = None) -> Campaign:
        data = self.cleaned_data
        audience = data["audience"]
        segment = None if audience == "all" else Segment.objects.get(pk=int(audience))
        return svc.save_draft(
            user=user,
            campaign=campaign,
            name=data["name"],
            from_address=data["from_address"],
            reply_to=data["reply_to"],
            subject=data["subject"],
            preheader=data["preheader"],
            body_markdown=data["body_markdown"],
            audience_all=audience == "all",
            segment=segment,
            exclude_segments=list(data["exclude_segments"]),
            scheduled_at=data["scheduled_at"],
        )


# The list's columns people may sort by (`?tri=`); a draft's audience is unknown (-1: first
# in ascending order, last in descending).
CAMPAIGN_SORTS = (
    SortColumn("nom", "name", text=True),
    SortColumn("etat", choice_order("status", Campaign.Status.values)),
    SortColumn("destinataires", Coalesce("audience_count", -1), descending_first=True),
    SortColumn("cree", "created_at", descending_first=True),
)


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    sorting = sorting_from(request, CAMPAIGN_SORTS, "-cree")
    campaigns = sorting.apply(Campaign.objects.select_related("created_by"))[:200]
    return render(
        request, "mailing/campaign_list.html", {"campaigns": campaigns, "sorting": sorting}
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_compose(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk) if pk is not None else None
    if campaign is not None and campaign.status != S.DRAFT:
        return redirect("mailing:campaign_detail", pk=campaign.pk)
    template = None
    if campaign is None and "modele" in request.GET:
        # A new campaign started from a saved template: its text fills the form.
        raw = request.GET["modele"]
        template = get_object_or_404(CampaignTemplate, pk=ascii_int(raw) or 0)
    if campaign:
        initial = CampaignForm.initial_for(campaign)
    else:
        initial = CampaignForm.initial_from_template(template) if template else {}
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = form.save(user=request.user, campaign=campaign)
        except svc.CampaignRefused as exc:
            _error_at_field(form, exc)
        else:
            messages.success(request, _("Brouillon enregistré."))
            return redirect("mailing:campaign_preview", pk=campaign.pk)
    return render(
        request,
        "mailing/campaign_form.html",
        {"form": form, "campaign": campaign, "template": template},
        status=400 if form.errors else 200,
    )


def _error_at_field(form: forms.Form, exc: svc.CampaignRefused) -> None:
    """The service's refusal at the field it names (shown there), else above the form."""
    field = getattr(exc, "field", "")
    form.add_error(field if field in form.fields else None, exc.message)


def _preview_contact(request: HttpRequest) -> tuple[Contact | None, str]:
    raw = request.GET.get("contact", "").strip()
    if not raw:
        return None, ""
    try:
        key = normalize_email(raw)[1]
    except InvalidValue:
        return None, _("Adresse invalide : %(address)s") % {"address": raw}
    contact = Contact.objects.filter(email_key=key).first()
    if contact is None:
        return None, _("Aucun contact avec l'adresse %(address)s.") % {"address": raw}
    return contact, ""


@login_required
@require_GET
def campaign_preview(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    contact, error = _preview_contact(request)
    preview = svc.preview_campaign(campaign, contact)
    frame_url = reverse("mailing:campaign_preview_frame", args=[campaign.pk])
    if contact is not None:
        frame_url += f"?contact={contact.pk}"
    return render(
        request,
        "mailing/campaign_preview.html",
        {
            "campaign": campaign,
            "preview": preview,
            "contact": contact,
            "contact_error": error,
            "frame_url": frame_url,
            "query": request.GET.get("contact", ""),
        },
    )


# The message's HTML is the campaign author's and the contact's: a hostile document.
@sandboxed_document
@login_required
@require_GET
def campaign_preview_frame(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    contact_id = request.GET.get("contact", "")
    contact_pk = ascii_int(contact_id)
    contact = Contact.objects.filter(pk=contact_pk).first() if contact_pk is not None else None
    return HttpResponse(svc.preview_campaign(campaign, contact).html)


@login_required
@require_POST
def campaign_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    try:
        addresses = svc.parse_test_addresses(request.POST.get("addresses", ""))
        sent = svc.send_test(campaign, addresses=addresses, request=request)
    except svc.CampaignRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Message de test envoyé à %(n)s adresse.",
                "Message de test envoyé à %(n)s adresses.",
                sent,
            )
            % {"n": sent},
        )
    return redirect("mailing:campaign_preview", pk=campaign.pk)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_launch(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    if campaign.status != S.DRAFT:
        return redirect("mailing:campaign_detail", pk=campaign.pk)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                svc.approve_campaign(campaign, user=request.user, request=request)
                messages.success(request, _("Campagne approuvée."))
                return redirect("mailing:campaign_launch", pk=campaign.pk)
            shown = confirmed_count(request)
            if action == "launch" and shown is None:
                return _ask_launch(request, campaign)
            if action == "launch":
                try:
                    count = svc.launch_campaign(
                        campaign, user=request.user, request=request, expected=shown
                    )
                except svc.AudienceChanged as exc:
                    return _ask_launch(request, campaign, estimate=exc.count, shown=exc.expected)
                messages.success(
                    request,
                    ngettext(
                        "Campagne lancée vers %(n)s destinataire.",
                        "Campagne lancée vers %(n)s destinataires.",
                        count,
                    )
                    % {"n": number(count)},
                )
                return redirect("mailing:campaign_detail", pk=campaign.pk)
        except svc.CampaignRefused as exc:
            error = exc.message
        except svc.CampaignStateError:
            error = _("La campagne n'est plus un brouillon.")
    estimate: int | None
    try:
        estimate = svc.estimate_audience(campaign)
    except svc.AudienceMissing as exc:
        estimate, error = None, error or exc.message
    needs = estimate is not None and svc.needs_approval(estimate)
    return render(
        request,
        "mailing/campaign_launch.html",
        {
            "question": _launch_question(campaign, estimate) if estimate is not None else None,
            "campaign": campaign,
            "estimate": estimate,
            "needs_approval": needs,
            "threshold": svc.settings.MAILING_APPROVAL_THRESHOLD,
            "is_author": campaign.created_by_id == request.user.pk,
            "blacked_out": estimate is not None and svc.is_blacked_out(campaign),
            "error": error,
        },
        status=400 if error and request.method == "POST" else 200,
    )


def _launch_question(campaign: Campaign, estimate: int, shown: int | None = None) -> dict[str, Any]:
    """The launch's confirmation (includes/confirm.html): to how many people it goes, counted as
    the launch freezes its audience (estimate_audience), and when. It posts that count back, and
    the launch refuses another one (svc.AudienceChanged): `shown`, the count confirmed before,
    says why it is asked again."""
    subject = readable_subject(campaign.subject)
    # No-break spaces (literal, so that makemessages reads them) inside the guillemets: the
    # subject never leaves one behind.
    if campaign.scheduled_at is not None:
        text = ngettext(
            "Le public est figé au lancement : cette personne recevra « %(subject)s ». "
            "Les envois partiront le %(at)s ; jusque-là, la campagne peut être annulée.",
            "Le public est figé au lancement : ces personnes recevront « %(subject)s ». "
            "Les envois partiront le %(at)s ; jusque-là, la campagne peut être annulée.",
            estimate,
        ) % {
            "subject": subject,
            "at": date_format(timezone.localtime(campaign.scheduled_at), "SHORT_DATETIME_FORMAT"),
        }
    else:
        text = ngettext(
            "Le public est figé au lancement : cette personne recevra « %(subject)s ». "
            "Les envois partent tout de suite ; ils peuvent être mis en pause ou annulés.",
            "Le public est figé au lancement : ces personnes recevront « %(subject)s ». "
            "Les envois partent tout de suite ; ils peuvent être mis en pause ou annulés.",
            estimate,
        ) % {"subject": subject}
    question: dict[str, Any] = {
        "id": "launch-dialog",
        "title": ngettext("Lancer vers %(n)s personne ?", "Lancer vers %(n)s personnes ?", estimate)
        % {"n": number(estimate)},
        "text": text,
        "confirm_label": _("Lancer"),
        "action": reverse("mailing:campaign_launch", args=[campaign.pk]),
        "cancel_url": reverse("mailing:campaign_launch", args=[campaign.pk]),
        "fields": [("action", "launch"), ("confirm", estimate)],
    }
    if shown is not None and shown != estimate:
        question["warning"] = ngettext(
            "Le public a changé depuis votre confirmation pour %(n)s personne : relisez le "
            "nombre avant de lancer.",
            "Le public a changé depuis votre confirmation pour %(n)s personnes : relisez le "
            "nombre avant de lancer.",
            shown,
        ) % {"n": number(shown)}
    return question


def _ask_launch(
    request: HttpRequest,
    campaign: Campaign,
    *,
    estimate: int | None = None,
    shown: int | None = None,
) -> HttpResponse:
    """A launch posted without its confirmation (a page without script), or confirmed for
    another audience than the one it would now reach (`shown`, against `estimate`, the launch's
    own count): the question, with the count of now, on a page of its own."""
    if estimate is None:
        try:
            estimate = svc.estimate_audience(campaign)
        except svc.AudienceMissing:
            return redirect("mailing:campaign_launch", pk=campaign.pk)
    question = _launch_question(campaign, estimate, shown)
    return ask(
        request,
        dialog_id=question.pop("id"),
        eyebrow=_("Lancer la campagne"),
        heading=campaign.name,
        **question,
    )


def _detail_context(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    counts = delivery_counts(campaign)
    now = time.time()
    previous: tuple[int, float] | None = None
    try:
        settled = ascii_int(request.GET["settled"])
        previous = (settled, float(request.GET["at"])) if settled is not None else None
    except (KeyError, ValueError):
        previous = None
    progress = campaign_progress(campaign, counts, previous=previous, now=now)
    done = campaign.status in (S.DONE, S.CANCELLED, S.DRAFT)
    poll_url = (
        reverse("mailing:campaign_detail", args=[campaign.pk])
        + f"?settled={progress.settled}&at={now:.3f}"
    )
    states = [(label, counts[value]) for value, label in Delivery.Status.choices]
    labels = dict(ProviderGroup.choices)
    providers = [
        (labels.get(p, p), [row[s] for s in Delivery.Status.values])
        for p, row in provider_counts(campaign).items()
    ]
    label = _("%(settled)s envois réglés sur %(total)s") % {
        "settled": number(progress.settled),
        "total": number(progress.total),
    }
    return {
        "campaign": campaign,
        "progress": progress,
        "percent": progress.percent,
        "label": label,
        "done": done,
        "poll_url": poll_url,
        "states": states,
        "state_labels": [label for _value, label in Delivery.Status.choices],
        "providers": providers,
        "results": campaign_results(campaign)
        if campaign.status in (S.DONE, S.CANCELLED, S.PAUSED, S.SENDING)
        else None,
    }


@login_required
@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    context = _detail_context(request, campaign)
    if getattr(request, "htmx", False):
        return render(request, "mailing/campaign_detail.html#live", context)
    return _detail_page(request, campaign, context)


def _detail_page(
    request: HttpRequest,
    campaign: Campaign,
    context: dict[str, Any],
    *,
    requeue_error: str = "",
    status: int = 200,
) -> HttpResponse:
    # The unknown rows are listed on the full page only, not in the fragment polled every 2 s.
    if context["progress"].counts[Delivery.Status.UNKNOWN]:
        context["unknowns"] = unknowns.list_unknown(campaign)
        context["reasons"] = [
            (str(label), context["unknowns"].by_reason[key])
            for key, label in unknowns.REASONS.items()
        ]
    context["requeue_error"] = requeue_error
    return render(request, "mailing/campaign_detail.html", context, status=status)


@login_required
@require_POST
def campaign_requeue_unknown(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-queue unknown rows (chosen ones, or all) after the operator's explicit confirmation."""
    _require(request)
    campaign = _campaign(pk)
    chosen = request.POST.getlist("ids")
    everyone = request.POST.get("all") == "1"
    error = ""
    if not everyone and not all(is_ascii_digits(v) for v in chosen):
        error = _("Sélection invalide.")
    else:
        try:
            count = unknowns.requeue_unknown(
                campaign,
                user=request.user,
                ids=None if everyone else [int(v) for v in chosen],
                confirmed=request.POST.get("confirm") == "1",
                request=request,
            )
        except svc.CampaignRefused as exc:
            error = exc.message
        except svc.CampaignStateError:
            error = _("Impossible dans l'état actuel de la campagne.")
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)s envoi remis en file d'attente.",
                    "%(n)s envois remis en file d'attente.",
                    count,
                )
                % {"n": count},
            )
            return redirect("mailing:campaign_detail", pk=pk)
    return _detail_page(
        request, campaign, _detail_context(request, campaign), requeue_error=error, status=400
    )


def _transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require(request)
    campaign = _campaign(pk)
    try:
        if action == "pause":
            svc.pause_campaign(campaign, request=request)
            messages.success(request, _("Campagne mise en pause."))
        elif action == "resume":
            svc.resume_campaign(campaign, request=request)
            messages.success(request, _("Envoi repris."))
        else:
            n = svc.cancel_campaign(campaign, request=request)
            messages.success(
                request,
                ngettext(
                    "Campagne annulée (%(n)s envoi annulé).",
                    "Campagne annulée (%(n)s envois annulés).",
                    n,
                )
                % {"n": n},
            )
    except svc.CampaignStateError:
        messages.error(request, _("Impossible dans l'état actuel de la campagne."))
    return redirect("mailing:campaign_detail", pk=pk)


@login_required
@require_POST
def campaign_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, "pause")


@login_required
@require_POST
def campaign_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(request, pk, "resume")


@login_required
@require_http_methods(["GET", "POST"])
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancelling stops a campaign for good: asked first (includes/confirm.html), with how many
    messages have not left yet, counted when the person asks."""
    if confirmed(request):
        return _transition(request, pk, "cancel")
    _require(request)
    campaign = _campaign(pk)
    if campaign.status in (S.DONE, S.CANCELLED):
        return redirect("mailing:campaign_detail", pk=campaign.pk)
    unsent = svc.unsent_count(campaign)
    return ask(
        request,
        dialog_id="cancel-dialog",
        title=_("Annuler la campagne « %(name)s » ?") % {"name": campaign.name},
        text=ngettext(
            "%(n)s message n'est pas encore parti : il ne partira pas. Ceux déjà partis ne "
            "reviennent pas. C'est définitif : la campagne ne pourra pas reprendre.",
            "%(n)s messages ne sont pas encore partis : ils ne partiront pas. Ceux déjà partis "
            "ne reviennent pas. C'est définitif : la campagne ne pourra pas reprendre.",
            unsent,
        )
        % {"n": number(unsent)},
        confirm_label=_("Annuler la campagne"),
        tone="danger",
        action=reverse("mailing:campaign_cancel", args=[campaign.pk]),
        cancel_url=reverse("mailing:campaign_detail", args=[campaign.pk]),
        eyebrow=_("Annuler la campagne"),
        heading=campaign.name,
    )


@login_required
@require_POST
def campaign_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft with the campaign's message and audience (see svc.duplicate_campaign)."""
    _require(request)
    campaign = _campaign(pk)
    try:
        copy = svc.duplicate_campaign(campaign, user=request.user)
    except svc.CampaignRefused as exc:
        messages.error(request, exc.message)
        return redirect("mailing:campaign_preview", pk=campaign.pk)
    messages.success(request, _("Campagne dupliquée : voici le nouveau brouillon."))
    return redirect("mailing:campaign_edit", pk=copy.pk)


# --- Saved templates ------------------------------------------------------------------------


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom du modèle"), max_length=templates.NAME_MAX)


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    return render(
        request,
        "mailing/template_list.html",
        {"templates": CampaignTemplate.objects.select_related("created_by")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the campaign's content as a named template."""
    _require(request)
    campaign = _campaign(pk)
    data = request.POST if request.method == "POST" else None
    form = TemplateForm(data, initial={"name": campaign.name})
    if request.method == "POST" and form.is_valid():
        try:
            template = templates.save_template(
                campaign=campaign, name=form.cleaned_data["name"], user=request.user
            )
        except svc.CampaignRefused as exc:
            _error_at_field(form, exc)
        else:
            messages.success(
                request, _("Modèle « %(name)s » enregistré.") % {"name": template.name}
            )
            return redirect("mailing:template_list")
    return render(
        request,
        "mailing/template_form.html",
        {"form": form, "campaign": campaign},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    template = get_object_or_404(CampaignTemplate, pk=pk)
    if not confirmed(request):
        return ask(
            request,
            dialog_id="delete-dialog",
            title=_("Supprimer le modèle « %(name)s » ?") % {"name": template.name},
            text=_("Les campagnes déjà écrites avec lui ne changent pas."),
            confirm_label=_("Supprimer"),
            tone="danger",
            action=reverse("mailing:template_delete", args=[template.pk]),
            cancel_url=reverse("mailing:template_list"),
            eyebrow=_("Supprimer le modèle"),
            heading=template.name,
        )
    templates.delete_template(template)
    messages.success(request, _("Modèle « %(name)s » supprimé.") % {"name": template.name})
    return redirect("mailing:template_list")
