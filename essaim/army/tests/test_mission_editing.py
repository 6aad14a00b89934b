"""Issue 16, missions: a runner edits a draft and duplicates any mission; "Publier" says how many
volunteers will be notified — the count of the query the publication notifies from — and
publishes only once confirmed. Who may not run the mission is refused and changes nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import Membership, Notification, Team
from essaim.army.models import (
    Claim,
    KitFile,
    Mission,
    MissionTarget,
    MissionZone,
    Proof,
    Stage,
)
from essaim.army.services import missions as svc
from essaim.army.services import notifications as notices
from essaim.army.services.dispatch import eligible_volunteers
from essaim.army.services.kits import add_kit_file, delete_kit_file
from essaim.army.services.proofs import submit_proof
from essaim.army.services.talking_points import add_talking_point
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory, role

pytestmark = pytest.mark.django_db

ACTIVE = {"tchatcheur": Stage.ACTIVE}
PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"

# The notifications whose object is a mission.
MISSION_KINDS = (notices.MISSION_OFFERED, notices.MISSION_CLOSED, notices.MISSION_APPROVAL)


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashed(response: Any) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(r'<li class="message [^"]*">([^<]*)</li>', response.text)
    ]


def state(mission: Mission) -> dict[str, Any]:
    """Everything an edit could change: the row, its targeting rows, its kit files."""
    mission = Mission.objects.get(pk=mission.pk)
    return {
        "row": model_to_dict(mission),
        "targets": sorted(mission.targets.values_list("role__slug", "stage")),
        "zones": sorted(mission.zones.values_list("departement", "region")),
        "target_teams": sorted(mission.target_teams.values_list("pk", flat=True)),
        "files": list(mission.files.values_list("name", "size")),
        "missions": Mission.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def team(coordinator: Any) -> Team:
    return TeamFactory.create(name="Paris 11e", departement="75", coordinators=[coordinator])


@pytest.fixture
def draft(coordinator: Any, team: Team) -> Mission:
    point = add_talking_point(
        title="Le pouvoir d'achat", body="À dire avec vos mots.", team=team, by=coordinator
    )
    return MissionFactory.create(
        by=coordinator,
        team=team,
        title="Relayer le discours de Lille",
        quota=4,
        points=15,
        per_volunteer_minutes=45,
        talking_point=point.versions.get(),
        targeting=svc.Targeting(
            roles=[role("tchatcheur"), role("traceur")],
            stages=[Stage.ACTIVE],
            departements=["75"],
            regions=["11"],
            windows=0b111,
        ),
        target_sites=["https://forum.exemple.fr/t/1"],
        embed_codes=["<iframe\nsrc='https://video.exemple.fr/1'></iframe>"],
        watch_slots=["lundi 18 h"],
        publish=False,
    )


def form_data(mission: Mission, **changes: Any) -> dict[str, Any]:
    """The edit form as the page fills it for `mission`, with `changes`."""
    page = client_of(mission.created_by).get(reverse("army:mission_edit", args=[mission.pk]))
    form = page.context["form"]
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if name == "deadline":
            value = field.widget.format_value(value)
        data[name] = "" if value is None else value
    data.update(changes)
    return data


# --- Editing a draft ----------------------------------------------------------------------------


def test_the_edit_form_shows_the_drafts_values(coordinator, team, draft):
    response = client_of(coordinator).get(reverse("army:mission_edit", args=[draft.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    values = {name: form[name].value() for name in form.fields}
    values["deadline"] = form.fields["deadline"].widget.format_value(values["deadline"])
    assert values == {
        "team": str(team.pk),
        "kind": "relay",
        "role": role("tchatcheur").pk,
        "title": "Relayer le discours de Lille",
        "brief": draft.brief,
        "stages": ["active"],
        "departements": "75",
        "quota": 4,
        "deadline": timezone.localtime(draft.deadline).strftime("%Y-%m-%dT%H:%M"),
        "points": 15,
        "per_volunteer_minutes": 45,
        "talking_point": draft.talking_point_id,
        "target_sites": "https://forum.exemple.fr/t/1",
        "kit_files": "",
        "video_links": "",
        # A code on several lines is kept whole by a separator line.
        "embed_codes": "<iframe\nsrc='https://video.exemple.fr/1'></iframe>\n---",
        "watch_channels": "",
        "watch_slots": "lundi 18 h",
    }
    assert "<h1>Modifier la mission</h1>" in response.text


def test_a_coordinator_edits_their_teams_draft_and_what_the_form_does_not_show_stays(
    coordinator, team, draft
):
    deadline = timezone.localtime() + timedelta(days=9)
    data = form_data(
        draft,
        title="Relayer le discours de Rennes",
        role=str(role("colleur").pk),
        stages=["trained", "active"],
        departements="93, 75",
        quota="12",
        deadline=deadline.strftime("%Y-%m-%dT%H:%M"),
        points="20",
        target_sites="https://forum.exemple.fr/t/2\nhttps://blog.exemple.fr/",
        embed_codes="<b>un</b>\n<b>deux</b>",
        talking_point="",
    )
    client = client_of(coordinator)
    response = client.post(reverse("army:mission_edit", args=[draft.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse("army:missions_run")
    after = state(draft)
    assert {k: after["row"][k] for k in ("title", "role", "quota", "points", "status")} == {
        "title": "Relayer le discours de Rennes",
        "role": role("colleur").pk,
        "quota": 12,
        "points": 20,
        "status": "draft",
    }
    assert after["row"]["deadline"] == deadline.replace(second=0, microsecond=0)
    assert after["row"]["talking_point"] is None
    assert after["row"]["target_sites"] == [
        "https://forum.exemple.fr/t/2",
        "https://blog.exemple.fr/",
    ]
    assert after["row"]["embed_codes"] == ["<b>un</b>", "<b>deux</b>"]
    assert after["row"]["windows"] == 0b111  # not on the form: kept
    # The new role takes the old one's place; the other target role and the région stay.
    assert after["targets"] == [
        ("colleur", "active"),
        ("colleur", "trained"),
        ("traceur", "active"),
        ("traceur", "trained"),
    ]
    assert after["zones"] == [("", "11"), ("75", ""), ("93", "")]
    flashes = flashed(client.get(reverse("army:missions_run")))
    assert flashes == ["Brouillon « Relayer le discours de Rennes » enregistré."]


def test_the_form_sent_back_unchanged_changes_nothing_but_the_deadlines_seconds(coordinator, draft):
    before = state(draft)
    response = client_of(coordinator).post(
        reverse("army:mission_edit", args=[draft.pk]), form_data(draft)
    )
    assert response.status_code == 302
    after = state(draft)
    deadline = before["row"].pop("deadline")
    assert after["row"].pop("deadline") == deadline.replace(second=0, microsecond=0)
    assert after == before
    assert after["row"]["embed_codes"] == ["<iframe\nsrc='https://video.exemple.fr/1'></iframe>"]


# (changes, errors), each given the other team (a team of another coordinator).
BAD_EDITS: list[tuple[Any, Any]] = [
    (lambda t: {"title": ""}, lambda t: {"title": ["Ce champ est obligatoire."]}),
    (
        lambda t: {"quota": "0"},
        lambda t: {"quota": ["Assurez-vous que cette valeur est supérieure ou égale à 1."]},
    ),
    (lambda t: {"stages": []}, lambda t: {"stages": ["Ce champ est obligatoire."]}),
    (
        lambda t: {"target_sites": "javascript:alert(1)"},
        lambda t: {
            "target_sites": [
                "Seules les adresses http:// ou https:// sont acceptées (refusé : "
                "javascript:alert(1))."
            ]
        },
    ),
    (
        lambda t: {"deadline": "2001-01-01T12:00"},
        lambda t: {"__all__": ["L'échéance doit être dans le futur."]},
    ),
    (
        lambda t: {"team": str(t.pk)},
        lambda t: {"team": [f"Sélectionnez un choix valide. {t.pk} n’en fait pas partie."]},
    ),
]


@pytest.mark.parametrize(("changes", "errors"), BAD_EDITS)
def test_a_bad_edit_shows_its_errors_at_their_field_and_changes_nothing(
    coordinator, other_coordinator, draft, changes, errors
):
    other = TeamFactory.create(name="Lyon 3e", departement="69", coordinators=[other_coordinator])
    changes, errors = changes(other), errors(other)
    before = state(draft)
    response = client_of(coordinator).post(
        reverse("army:mission_edit", args=[draft.pk]), form_data(draft, **changes)
    )
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert state(draft) == before


def test_a_published_mission_cannot_be_edited_as_a_draft(coordinator, team, draft):
    data = form_data(draft, title="Réécrite après coup")  # a form loaded before publication
    svc.publish_mission(mission=draft, by=coordinator)
    before = state(draft)
    client = client_of(coordinator)
    for response in (
        client.get(reverse("army:mission_edit", args=[draft.pk])),
        client.post(reverse("army:mission_edit", args=[draft.pk]), data),
    ):
        assert response.status_code == 302
        assert response["Location"] == reverse("army:missions_run")
    assert (
        flashed(client.get(reverse("army:missions_run")))
        == [
            "La mission « Relayer le discours de Lille » n'est plus un brouillon : elle ne se "
            "modifie plus et ne se publie plus. Dupliquez-la pour en préparer une autre."
        ]
        * 2
    )
    # The service refuses it too, whoever calls it (a form loaded before the publication).
    with pytest.raises(svc.MissionError, match="n'est plus un brouillon"):
        svc.update_draft(
            mission=draft,
            kind="relay",
            title="Réécrite après coup",
            brief="x",
            role=role("tchatcheur"),
            quota=1,
            deadline=timezone.now() + timedelta(days=1),
            team=team,
            stages=[Stage.ACTIVE],
            departements=[],
        )
    assert state(draft) == before


@pytest.mark.parametrize("who", ["other_coordinator", "volunteer"])
def test_another_teams_coordinator_or_a_volunteer_reaches_nothing_and_changes_nothing(
    request, draft, who
):
    user = request.getfixturevalue(who)
    if who == "other_coordinator":
        TeamFactory.create(name="Lyon 3e", departement="69", coordinators=[user])
    data = form_data(draft, title="Détournée")
    before = state(draft)
    client = client_of(user)
    answers = [
        client.get(reverse("army:mission_edit", args=[draft.pk])).status_code,
        client.post(reverse("army:mission_edit", args=[draft.pk]), data).status_code,
        client.post(reverse("army:mission_duplicate", args=[draft.pk])).status_code,
        client.get(reverse("army:mission_publish", args=[draft.pk])).status_code,
        client.post(reverse("army:mission_publish", args=[draft.pk]), {"confirm": "1"}).status_code,
    ]
    assert answers == [404] * 5
    assert state(draft) == before


# --- Duplicating --------------------------------------------------------------------------------


def test_a_copy_takes_the_terms_kit_and_targeting_and_nothing_of_the_originals_life(hq, hq_admin):
    team = TeamFactory.create(name="Thème climat", kind=Team.Kind.THEMATIC)
    worker = VolunteerFactory.create(
        roles={"colleur": Stage.ACTIVE}, teams=[team], postcode="69003", windows=0b10
    )
    source = MissionFactory.create(
        by=hq_admin,
        title="Placer la bannière",
        kind="place",
        quota=2,
        points=30,
        per_volunteer_minutes=20,
        targeting=svc.Targeting(
            roles=[role("colleur")],
            stages=[Stage.ACTIVE, Stage.TRAINED],
            departements=["69"],
            regions=["11"],
            teams=[team.pk],
            windows=0b1010,
        ),
        kit_files=["https://campagne.exemple.fr/banniere.png"],
        video_links=["https://video.exemple.fr/v/2"],
        target_sites=["https://forum.exemple.fr/t/3"],
        role_slug="colleur",
    )
    add_kit_file(mission=source, upload=SimpleUploadedFile("tract.pdf", PDF), by=hq_admin)
    claim = svc.claim_mission(volunteer=worker, mission_id=source.pk)
    submit_proof(claim=claim, urls=["https://blog.exemple.fr/banniere"])
    source.refresh_from_db()
    assert (source.status, source.slots_taken) == ("published", 1)
    # The original's life: its offer to the worker, its proof for the team's two coordinators.
    assert sorted(Notification.objects.values_list("kind", flat=True)) == [
        notices.MISSION_OFFERED,
        notices.PROOF_TO_REVIEW,
        notices.PROOF_TO_REVIEW,
    ]

    response = client_of(hq).post(reverse("army:mission_duplicate", args=[source.pk]))
    copy = Mission.objects.exclude(pk=source.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("army:mission_edit", args=[copy.pk])
    original, copied = model_to_dict(source), model_to_dict(copy)
    differ = {name for name in original if original[name] != copied[name]}
    assert differ == {
        "id",
        "title",
        "status",
        "slots_taken",
        "published_at",
        "created_by",
        "created_at",
    }
    assert (copy.title, copy.status, copy.slots_taken, copy.published_at, copy.created_by) == (
        "Copie de Placer la bannière",
        "draft",
        0,
        None,
        hq,
    )
    assert copy.created_at > source.created_at
    assert (copy.decided_by, copy.decided_at) == (None, None)
    for rows in (
        lambda m: sorted(m.targets.values_list("role_id", "stage")),
        lambda m: sorted(m.zones.values_list("departement", "region")),
        lambda m: list(m.target_teams.values_list("pk", flat=True)),
        lambda m: list(m.files.values_list("kind", "content_type", "name", "size")),
    ):
        assert rows(copy) == rows(source)
        assert rows(copy)
    # Nothing of the original's life: claims, proofs, notifications stay with it.
    assert Claim.objects.filter(mission=copy).count() == 0
    assert Proof.objects.filter(claim__mission=copy).count() == 0
    assert Notification.objects.filter(kind__in=MISSION_KINDS, object_id=copy.pk).count() == 0
    assert MissionTarget.objects.count() == 4 and MissionZone.objects.count() == 4


def test_a_copys_kit_files_are_its_own(hq, django_capture_on_commit_callbacks):
    source = MissionFactory.create(by=hq, publish=False)
    add_kit_file(mission=source, upload=SimpleUploadedFile("tract.pdf", PDF), by=hq)
    copy = svc.duplicate_mission(mission=source, by=hq)
    original, copied = source.files.get(), copy.files.get()
    assert original.file.name != copied.file.name
    with django_capture_on_commit_callbacks(execute=True):
        delete_kit_file(item=original)
    assert not original.file.storage.exists(original.file.name or "")
    with copied.file.open("rb") as stored:
        assert stored.read() == PDF
    assert KitFile.objects.filter(mission=copy).count() == 1


def test_a_coordinator_duplicates_their_teams_mission_and_the_copy_is_theirs(
    coordinator, team, draft
):
    svc.publish_mission(mission=draft, by=coordinator)
    client_of(coordinator).post(reverse("army:mission_duplicate", args=[draft.pk]))
    copy = Mission.objects.exclude(pk=draft.pk).get()
    assert (copy.team, copy.created_by, copy.status, copy.title) == (
        team,
        coordinator,
        "draft",
        "Copie de Relayer le discours de Lille",
    )
    assert copy.talking_point_id == draft.talking_point_id


def test_a_long_title_is_cut_to_fit_with_an_ellipsis(hq):
    source = MissionFactory.create(by=hq, title="x" * 200, publish=False)
    copy = svc.duplicate_mission(mission=source, by=hq)
    assert copy.title == "Copie de " + "x" * 190 + "…"
    assert len(copy.title) == 200


def test_duplicating_takes_a_post(hq):
    source = MissionFactory.create(by=hq, publish=False)
    assert client_of(hq).get(reverse("army:mission_duplicate", args=[source.pk])).status_code == 404
    assert Mission.objects.count() == 1


def test_a_copy_of_an_expired_mission_must_get_a_new_deadline_before_publication(hq):
    source = MissionFactory.create(by=hq, publish=False)
    Mission.objects.filter(pk=source.pk).update(deadline=timezone.now() - timedelta(days=1))
    copy = svc.duplicate_mission(mission=source, by=hq)
    client = client_of(hq)
    response = client.post(reverse("army:mission_publish", args=[copy.pk]), {"confirm": "1"})
    assert flashed(client.get(response["Location"])) == [
        "L'échéance de cette mission est passée : modifiez-la avant de la publier."
    ]
    assert Mission.objects.get(pk=copy.pk).status == "draft"


# --- Publishing: the count, then the confirmation -----------------------------------------------


@pytest.fixture
def crowd(team: Team) -> dict[str, Any]:
    """Who a 3-hour mission of the Paris team reaches: three active chatters of the team in the
    75 with room in their week, and everyone the targeting or the week leaves out."""
    reached = [
        VolunteerFactory.create(roles=ACTIVE, teams=[team], weekly_hours=4) for _ in range(3)
    ]
    VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED}, teams=[team], weekly_hours=4)
    VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, teams=[team], weekly_hours=4)
    VolunteerFactory.create(roles=ACTIVE, teams=[team], weekly_hours=2)  # no room for 3 h
    VolunteerFactory.create(roles=ACTIVE, teams=[team], weekly_hours=4, postcode="69003")
    VolunteerFactory.create(roles=ACTIVE, weekly_hours=4)  # not in the team
    busy = VolunteerFactory.create(roles=ACTIVE, teams=[team], weekly_hours=4)
    for n in range(svc.MAX_OPEN_CLAIMS):
        other = MissionFactory.create(title=f"Occupée {n}", team=team, per_volunteer_minutes=5)
        svc.claim_mission(volunteer=busy, mission_id=other.pk)
    return {"reached": {v.pk for v in reached}}


def publish_draft(coordinator: Any, team: Team, **kwargs: Any) -> Mission:
    return MissionFactory.create(
        by=coordinator,
        team=team,
        title="Répondre sur le forum",
        per_volunteer_minutes=180,
        targeting=svc.Targeting(departements=["75"]),
        publish=False,
        **kwargs,
    )


def test_the_count_shown_before_publishing_is_the_number_of_volunteers_notified(
    coordinator, team, crowd
):
    mission = publish_draft(coordinator, team)
    client = client_of(coordinator)
    page = client.get(reverse("army:mission_publish", args=[mission.pk]))
    assert page.status_code == 200
    assert page.context["notified"] == len(crowd["reached"]) == 3
    title = "Publier et prévenir 3 volontaires ?"
    assert f'<h2 class="confirm-title" id="publish-dialog-title">{title}</h2>' in page.text
    assert set(eligible_volunteers(mission).values_list("pk", flat=True)) == crowd["reached"]

    response = client.post(
        reverse("army:mission_publish", args=[mission.pk]), {"confirm": "1"}, follow=True
    )
    assert flashed(response) == ["Mission publiée : 3 volontaires prévenus."]
    notified = set(
        Notification.objects.filter(kind=notices.MISSION_OFFERED, object_id=mission.pk).values_list(
            "recipient_id", flat=True
        )
    )
    assert notified == crowd["reached"]
    assert Mission.objects.get(pk=mission.pk).status == "published"


def test_the_dialog_gets_the_confirmation_alone_through_htmx(coordinator, team, crowd):
    mission = publish_draft(coordinator, team)
    url = reverse("army:mission_publish", args=[mission.pk])
    fragment = client_of(coordinator).get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert [t.name for t in fragment.templates] == ["includes/confirm.html"]
    assert f'<form method="post" action="{url}" class="confirm">' in fragment.text
    assert '<input type="hidden" name="confirm" value="1">' in fragment.text
    assert "Publier et prévenir 3 volontaires ?" in fragment.text


@pytest.mark.parametrize("data", [{}, {"confirm": "0"}, {"confirm": "oui"}])
def test_publishing_without_the_confirmation_publishes_nothing(coordinator, team, crowd, data):
    mission = publish_draft(coordinator, team)
    before = state(mission)
    response = client_of(coordinator).post(reverse("army:mission_publish", args=[mission.pk]), data)
    assert response.status_code == 200
    assert response.context["title"] == "Publier et prévenir 3 volontaires ?"
    assert state(mission) == before
    assert Notification.objects.filter(kind__in=MISSION_KINDS, object_id=mission.pk).count() == 0


def test_one_volunteer_nobody_and_above_the_cap_are_each_said_in_their_words(
    settings, coordinator, team
):
    settings.MISSION_MAX_POINTS = 50
    client = client_of(coordinator)

    def question(mission: Mission) -> tuple[str, str, str]:
        page = client.get(reverse("army:mission_publish", args=[mission.pk]))
        return page.context["title"], page.context["text"], page.context["confirm_label"]

    nobody = publish_draft(coordinator, team)
    assert question(nobody) == (
        "Publier sans prévenir personne ?",
        "Aucun volontaire ne correspond aujourd'hui au ciblage de cette mission (rôle, étapes, "
        "zone, équipe, créneaux) avec assez de temps libre dans sa semaine.",
        "Publier",
    )
    VolunteerFactory.create(roles=ACTIVE, teams=[team], weekly_hours=4)
    one = publish_draft(coordinator, team)
    assert question(one)[0] == "Publier et prévenir 1 volontaire ?"
    costly = publish_draft(coordinator, team, points=80)
    assert question(costly) == (
        "Envoyer la mission au QG pour approbation ?",
        "Ses 80 points dépassent le plafond de 50 : elle sera publiée quand un membre du QG "
        "l'aura approuvée. Aujourd'hui, elle préviendrait 1 volontaire.",
        "Envoyer au QG",
    )


def test_a_mission_no_longer_a_draft_sends_the_dialog_back_to_the_list(coordinator, team):
    mission = publish_draft(coordinator, team)
    svc.publish_mission(mission=mission, by=coordinator)
    url = reverse("army:mission_publish", args=[mission.pk])
    client = client_of(coordinator)
    plain = client.get(url)
    assert (plain.status_code, plain["Location"]) == (302, reverse("army:missions_run"))
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment["HX-Redirect"] == reverse("army:missions_run")


# --- A coordinator's way to their missions ------------------------------------------------------


def test_a_coordinator_finds_their_missions_in_the_menu_and_is_shown_as_coordinator(
    coordinator, team, draft
):
    client = client_of(coordinator)
    menu = dict(client.get(reverse("home")).context["nav_items"])
    assert menu["Missions"] == reverse("army:missions_run")
    page = client.get(menu["Missions"])
    assert page.status_code == 200
    assert [m.title for m in page.context["missions"]] == ["Relayer le discours de Lille"]
    teams = " ".join(client.get(reverse("army:team_list")).text.split())
    assert (
        '<strong>Paris 11e</strong> · Membre · <span class="badge info">coordinateur</span>'
        in teams
    )
    dashboard = " ".join(client.get(reverse("army:team_dashboard", args=[team.pk])).text.split())
    assert "<td>coord.paris · coordinateur</td>" in dashboard


def test_a_coordinator_of_no_team_yet_is_told_so_rather_than_refused(coordinator):
    page = client_of(coordinator).get(reverse("army:missions_run"))
    assert page.status_code == 200
    assert "Vous ne coordonnez encore aucune équipe" in page.text
    assert reverse("army:mission_create") not in page.text


def test_a_volunteer_member_appointed_coordinator_runs_the_teams_missions(team, draft):
    member = VolunteerFactory.create(roles=ACTIVE, teams=[team])
    Membership.objects.filter(user=member.user, team=team).update(is_coordinator=True)
    page = client_of(member.user).get(reverse("army:missions_run"))
    assert [m.title for m in page.context["missions"]] == ["Relayer le discours de Lille"]
