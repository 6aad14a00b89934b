"""Roles move applied → trained → active by a coordinator of the volunteer's team or HQ, and
lapse by themselves without accepted work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.army.models import RoleAssignment, RoleTransition, Stage
from essaim.army.services.lifecycle import lapse_idle_roles
from essaim.army.tests.factories import TeamFactory, VolunteerFactory

pytestmark = pytest.mark.django_db


def move_url(team, volunteer, assignment):
    return reverse("army:role_move", args=[team.pk, volunteer.pk, assignment.pk])


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_coordinator_moves_a_members_role_through_the_lifecycle(coordinator):
    team = TeamFactory.create(coordinators=[coordinator])
    volunteer = VolunteerFactory.create(roles=["tchatcheur"], teams=[team])
    assignment = volunteer.assignments.get()
    client = client_of(coordinator)
    for stage in (Stage.TRAINED, Stage.ACTIVE):
        response = client.post(
            move_url(team, volunteer, assignment), {"stage": stage, "reason": "ok"}
        )
        assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.stage, assignment.stage_changed_by) == (Stage.ACTIVE, coordinator)
    assert list(assignment.transitions.values_list("from_stage", "to_stage", "by")) == [
        ("", Stage.APPLIED, None),
        (Stage.APPLIED, Stage.TRAINED, coordinator.pk),
        (Stage.TRAINED, Stage.ACTIVE, coordinator.pk),
    ]
    assert AuditEvent.objects.filter(action="army.role_moved").count() == 2


def test_the_member_page_shows_the_history_and_the_allowed_moves(coordinator):
    team = TeamFactory.create(coordinators=[coordinator])
    volunteer = VolunteerFactory.create(roles={"traceur": Stage.TRAINED}, teams=[team])
    html = (
        client_of(coordinator)
        .get(reverse("army:member_detail", args=[team.pk, volunteer.pk]))
        .content.decode()
    )
    assert "Traceur" in html and "Formé" in html
    assert 'value="active"' in html and 'value="applied"' in html
    assert 'value="lapsed"' not in html


def test_a_move_the_lifecycle_forbids_changes_nothing(coordinator):
    team = TeamFactory.create(coordinators=[coordinator])
    volunteer = VolunteerFactory.create(roles=["tchatcheur"], teams=[team])
    assignment = volunteer.assignments.get()
    for stage in (Stage.LAPSED, Stage.ACTIVE, "n'importe", ""):
        client_of(coordinator).post(move_url(team, volunteer, assignment), {"stage": stage})
    assignment.refresh_from_db()
    assert assignment.stage == Stage.APPLIED
    assert assignment.transitions.count() == 1


def test_a_coordinator_of_another_team_cannot_move_a_role(coordinator, other_coordinator):
    team = TeamFactory.create(coordinators=[coordinator])
    other = TeamFactory.create(coordinators=[other_coordinator])
    volunteer = VolunteerFactory.create(roles=["tchatcheur"], teams=[team])
    assignment = volunteer.assignments.get()
    client = client_of(other_coordinator)
    assert (
        client.post(move_url(team, volunteer, assignment), {"stage": "trained"}).status_code == 403
    )
    # Through their own team, where the volunteer is not a member: not found.
    assert (
        client.post(move_url(other, volunteer, assignment), {"stage": "trained"}).status_code == 404
    )
    assignment.refresh_from_db()
    assert assignment.stage == Stage.APPLIED
    assert RoleTransition.objects.count() == 1


def test_a_volunteer_cannot_move_their_own_role():
    team = TeamFactory.create()
    volunteer = VolunteerFactory.create(roles=["tchatcheur"], teams=[team])
    assignment = volunteer.assignments.get()
    response = client_of(volunteer.user).post(
        move_url(team, volunteer, assignment), {"stage": "trained"}
    )
    assert response.status_code == 403
    assignment.refresh_from_db()
    assert assignment.stage == Stage.APPLIED


def test_hq_moves_any_role(hq):
    team = TeamFactory.create()
    volunteer = VolunteerFactory.create(roles=["tchatcheur"], teams=[team])
    assignment = volunteer.assignments.get()
    client_of(hq).post(move_url(team, volunteer, assignment), {"stage": "trained"})
    assignment.refresh_from_db()
    assert assignment.stage == Stage.TRAINED


def _active_since(volunteer, weeks: int, last_work_weeks: int | None = None) -> RoleAssignment:
    now = timezone.now()
    assignment = volunteer.assignments.get()
    assignment.stage = Stage.ACTIVE
    assignment.stage_changed_at = now - timedelta(weeks=weeks)
    assignment.last_accepted_work_at = (
        None if last_work_weeks is None else now - timedelta(weeks=last_work_weeks)
    )
    assignment.save()
    return assignment


def test_roles_without_accepted_work_for_n_weeks_lapse_and_the_others_stay(settings):
    settings.ROLE_LAPSE_WEEKS = 8
    idle = _active_since(VolunteerFactory.create(roles=["traceur"]), weeks=10)
    idle_worked_long_ago = _active_since(
        VolunteerFactory.create(roles=["traceur"]), weeks=30, last_work_weeks=9
    )
    worked = _active_since(VolunteerFactory.create(roles=["traceur"]), weeks=30, last_work_weeks=2)
    recent = _active_since(VolunteerFactory.create(roles=["traceur"]), weeks=3)
    applied = VolunteerFactory.create(roles=["traceur"]).assignments.get()
    RoleAssignment.objects.filter(pk=applied.pk).update(
        stage_changed_at=timezone.now() - timedelta(weeks=50)
    )
    assert lapse_idle_roles(batch=1) == 2
    stages = dict(RoleAssignment.objects.values_list("pk", "stage"))
    assert stages == {
        idle.pk: Stage.LAPSED,
        idle_worked_long_ago.pk: Stage.LAPSED,
        worked.pk: Stage.ACTIVE,
        recent.pk: Stage.ACTIVE,
        applied.pk: Stage.APPLIED,
    }
    assert list(idle.transitions.values_list("from_stage", "to_stage", "by", "reason")) == [
        ("", Stage.APPLIED, None, ""),
        (Stage.ACTIVE, Stage.LAPSED, None, "no accepted work for 8 weeks"),
    ]
    assert lapse_idle_roles() == 0  # run again: nothing more


def test_a_lapsed_role_is_shown_as_automatic_in_the_volunteers_history(settings):
    volunteer = VolunteerFactory.create(roles=["traceur"])
    _active_since(volunteer, weeks=20)
    lapse_idle_roles()
    html = client_of(volunteer.user).get(reverse("army:profile")).content.decode()
    assert "Actif → En sommeil · automatique" in html
