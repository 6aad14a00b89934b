"""Forms of the public pages (sign-up, unsubscribe), and of HQ's contact pages (a contact by
hand, the contact list's bulk actions)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from essaim.lib.forms import SearchableSelectMultiple
from essaim.lib.numbers import is_ascii_digits
from essaim.lib.text import (
    InvalidValue,
    clean_name,
    clean_postcode,
    normalize_email,
    normalize_phone,
)
from essaim.people.models import Consent, Purpose, Segment, Tag
from essaim.people.services.bulk import MAX_SELECTED, MAX_TAG_LENGTH, Selection
from essaim.people.services.contacts import ContactData, InvalidField, clean_contact_data
from essaim.people.services.zones import zone_of

# What each purpose means to the person ticking it.
PURPOSE_CHOICES = [
    (Purpose.NEWS.value, _("Les actualités de la campagne")),
    (
        Purpose.MOBILIZATION.value,
        _("Les appels à la mobilisation (rassemblements, votes, actions)"),
    ),
    (Purpose.VOLUNTEERING.value, _("Les propositions de bénévolat")),
]

HONEYPOT_FIELD = "website"


class SignupForm(forms.Form):
    email = forms.CharField(
        label=_("Adresse e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    postcode = forms.CharField(
        label=_("Code postal (facultatif)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    phone = forms.CharField(
        label=_("Téléphone (facultatif)"),
        required=False,
        max_length=30,
        widget=forms.TelInput(attrs={"autocomplete": "tel"}),
    )
    purposes = forms.MultipleChoiceField(
        label=_("Je souhaite recevoir :"),
        choices=PURPOSE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _(
                "Cochez au moins un sujet : c'est ainsi que vous nous donnez votre accord."
            )
        },
    )

    contact_data: ContactData

    def clean_email(self) -> str:
        try:
            email, _key = normalize_email(self.cleaned_data["email"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Cette adresse e-mail n'est pas valide."), code="invalid"
            ) from exc
        return email

    def _clean_name(self, field: str) -> str:
        value = clean_name(self.cleaned_data[field])
        if not value:
            raise forms.ValidationError(self.fields[field].error_messages["required"])
        return value

    def clean_first_name(self) -> str:
        return self._clean_name("first_name")

    def clean_last_name(self) -> str:
        return self._clean_name("last_name")

    def clean_postcode(self) -> str:
        try:
            postcode = clean_postcode(self.cleaned_data["postcode"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Un code postal s'écrit avec cinq chiffres."), code="invalid"
            ) from exc
        if postcode and zone_of(postcode) is None:
            raise forms.ValidationError(
                _("Le code postal %(postcode)s n'existe pas."),
                code="unknown",
                params={"postcode": postcode},
            )
        return postcode

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidValue as exc:
            raise forms.ValidationError(
                _("Ce numéro de téléphone n'est pas valide."), code="invalid"
            ) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                self.contact_data = clean_contact_data(
                    email=cleaned["email"],
                    first_name=cleaned["first_name"],
                    last_name=cleaned["last_name"],
                    phone=cleaned["phone"],
                    postcode=cleaned["postcode"],
                )
            except InvalidValue as exc:  # the fields above already check each rule
                raise forms.ValidationError(str(exc)) from exc
        return cleaned


class UnsubscribeForm(forms.Form):
    ALL = "all"

    choice = forms.ChoiceField(
        label=_("Ne plus recevoir :"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez ce que vous ne voulez plus recevoir.")},
    )

    def __init__(self, *args: Any, purposes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer(purposes)
        self.fields["choice"].initial = self.ALL

    def offer(self, purposes: list[str]) -> None:
        """Offer these purposes (and "everything") as the choices."""
        labels = dict(PURPOSE_CHOICES)
        choices = [(p, labels[p]) for p in purposes]
        choices.append((self.ALL, _("Plus rien du tout : retirez mon adresse de vos listes")))
        self.fields["choice"].choices = choices  # type: ignore[attr-defined]


# --- HQ's contact pages ---------------------------------------------------------------------


class TagNamesField(forms.MultipleChoiceField):
    """Tag names: the existing tags are the choices, and a name typed in the searchable field
    (a new tag) is accepted too. Cleans to the sorted, de-duplicated names."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", SearchableSelectMultiple(create=True))
        super().__init__(**kwargs)

    def valid_value(self, value: str) -> bool:
        return bool(clean_name(value, MAX_TAG_LENGTH))

    def clean(self, value: Any) -> list[str]:
        names = super().clean(value)
        return sorted({clean_name(n, MAX_TAG_LENGTH) for n in names} - {""})


def tag_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in Tag.objects.order_by("name").values_list("name", flat=True)]


class ContactForm(forms.Form):
    """One contact typed by HQ. The fields are checked by the contacts service itself
    (`clean_contact_data`), whose error lands at its field; a new contact needs at least one
    purpose and the legal basis under which the person gave it."""

    email = forms.CharField(
        label=_("Adresse e-mail"),
        max_length=320,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=_("Prénom"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=150, required=False)
    phone = forms.CharField(
        label=_("Téléphone"),
        max_length=30,
        required=False,
        widget=forms.TelInput(attrs={"autocomplete": "off"}),
    )
    postcode = forms.CharField(
        label=_("Code postal"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("Le département et la région en sont déduits."),
    )
    purposes = forms.MultipleChoiceField(
        label=_("Finalités consenties"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        error_messages={
            "required": _("Cochez au moins une finalité : pas de contact sans consentement.")
        },
    )
    basis = forms.ChoiceField(
        label=_("Base légale"),
        choices=[("", _("— choisir —")), *Consent.Basis.choices],
        required=False,
        error_messages={"required": _("Indiquez la base légale de ce consentement.")},
    )
    tags = TagNamesField(
        label=_("Étiquettes"),
        required=False,
        help_text=_("Choisissez-en ou tapez-en une nouvelle."),
    )

    contact_data: ContactData

    def __init__(self, *args: Any, grantable: list[str] | None = None, **kwargs: Any) -> None:
        """`grantable`: for an existing contact, the purposes that HQ may still grant (none
        recorded, or pending); None for a new contact, which must be given one."""
        super().__init__(*args, **kwargs)
        tags = self.fields["tags"]
        assert isinstance(tags, forms.ChoiceField)
        tags.choices = tag_choices()
        purposes, basis = self.fields["purposes"], self.fields["basis"]
        assert isinstance(purposes, forms.ChoiceField)
        if grantable is None:
            purposes.required = basis.required = True
        elif grantable:
            labels = dict(Purpose.choices)
            purposes.choices = [(p, labels[p]) for p in grantable]
            purposes.label = _("Ajouter des consentements")
            purposes.help_text = _(
                "Seule la personne retire un consentement (désinscription, effacement)."
            )
        else:
            del self.fields["purposes"], self.fields["basis"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("purposes") and not cleaned.get("basis") and "basis" not in self.errors:
            self.add_error("basis", self.fields["basis"].error_messages["required"])
        if "email" in cleaned:
            try:
                self.contact_data = clean_contact_data(
                    email=cleaned["email"],
                    first_name=cleaned.get("first_name", ""),
                    last_name=cleaned.get("last_name", ""),
                    phone=cleaned.get("phone", ""),
                    postcode=cleaned.get("postcode", ""),
                )
            except InvalidField as exc:
                field = exc.field if exc.field in self.fields else None
                self.add_error(field, f"{capfirst(exc.message)}.")
        return cleaned


class BulkActionForm(forms.Form):
    """An action of the contact list on the rows ticked (`ids`) or on every result of its search
    and segment (`q`, `segment`, sent again as hidden fields)."""

    ACTIONS = (
        ("tag", _("Étiqueter")),
        ("untag", _("Retirer l'étiquette")),
        ("add_to_segment", _("Ajouter au segment")),
        ("export", _("Exporter (CSV)")),
        ("erase", _("Effacer")),
    )

    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(
        choices=[("selected", _("Les contacts cochés")), ("all", _("Tous les résultats"))],
        initial="selected",
    )
    q = forms.CharField(required=False, max_length=200, strip=True)
    segment = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    tags = TagNamesField(label=_("Étiquettes"), required=False)
    target_segment = forms.TypedChoiceField(
        label=_("Segment (liste)"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_(
            "Un segment-liste réunit les contacts qu'on y ajoute (par une étiquette du même nom)."
        ),
    )
    new_segment = forms.CharField(
        label=_("ou un nouveau segment nommé"), required=False, max_length=150
    )
    confirm = forms.IntegerField(required=False, min_value=0, max_value=2**63 - 1)

    def __init__(self, *args: Any, list_segments: list[Segment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = self.fields["tags"]
        assert isinstance(tags, forms.ChoiceField)
        tags.choices = tag_choices()
        target = self.fields["target_segment"]
        assert isinstance(target, forms.ChoiceField)
        target.choices = [("", _("— nouveau segment —")), *((s.pk, s.name) for s in list_segments)]
        self.ids: tuple[int, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == "selected":
            raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
            if not all(isinstance(v, str) and is_ascii_digits(v) for v in raw):
                raise forms.ValidationError(_("Sélection invalide."), code="invalid")
            if not raw:
                raise forms.ValidationError(
                    _("Cochez au moins un contact, ou choisissez tous les résultats."),
                    code="empty",
                )
            if len(raw) > MAX_SELECTED:
                raise forms.ValidationError(
                    _("Trop de contacts cochés : choisissez plutôt tous les résultats."),
                    code="too_many",
                )
            self.ids = tuple(sorted({int(v) for v in raw}))
        action = cleaned.get("action")
        if action in ("tag", "untag") and not cleaned.get("tags") and "tags" not in self.errors:
            self.add_error("tags", _("Choisissez au moins une étiquette."))
        if (
            action == "add_to_segment"
            and cleaned.get("target_segment") is None
            and not clean_name(cleaned.get("new_segment") or "")
            and "target_segment" not in self.errors
        ):
            self.add_error("target_segment", _("Choisissez un segment, ou nommez-en un nouveau."))
        return cleaned

    def selection(self) -> Selection:
        """The selection, once the form is valid."""
        data = self.cleaned_data
        return Selection(
            query=data.get("q") or "",
            segment_id=data.get("segment"),
            ids=None if data["scope"] == "all" else self.ids,
        )
