import pytest
from django.db import IntegrityError, transaction

from essaim.accounts.models import Membership
from essaim.army.models import (
    FULL_WEEK,
    RoleAssignment,
    RoleTransition,
    Stage,
    StaleStage,
    Volunteer,
    VolunteerRole,
    window_bit,
    window_mask,
    windows_from_mask,
)
from essaim.army.tests.factories import (
    TeamFactory,
    VolunteerFactory,
    role,
)

pytestmark = pytest.mark.django_db

SATURDAY_EVENING = (5, 2)
SUNDAY_MORNING = (6, 0)
MONDAY_MORNING = (0, 0)


def test_the_seven_roles_of_the_typology_are_seeded_in_order():
    assert list(VolunteerRole.objects.values_list("slug", flat=True)) == [
        "colleur",
        "tchatcheur",
        "mondain",
        "traceur",
        "moderateur",
        "redacteur",
        "veilleur",
    ]


def test_a_role_label_follows_the_active_language():
    from django.utils import translation

    traceur = role("traceur")
    with translation.override("fr"):
        assert traceur.label == "Traceur"
    with translation.override("en"):
        assert traceur.label == "Tracer"


def test_hq_can_add_a_role_without_an_english_name():
    from django.utils import translation

    new = VolunteerRole.objects.create(slug="graphiste", name="Graphiste")
    with translation.override("en"):
        assert new.label == "Graphiste"


def test_window_bits_are_one_per_day_and_part_and_round_trip():
    assert window_bit(0, 0) == 1
    assert window_bit(6, 2) == 1 << 20
    assert window_mask([(d, p) for d in range(7) for p in range(3)]) == FULL_WEEK
    assert windows_from_mask(window_mask([SATURDAY_EVENING, MONDAY_MORNING])) == [
        MONDAY_MORNING,
        SATURDAY_EVENING,
    ]
    with pytest.raises(ValueError):
        window_bit(7, 0)


def test_windows_outside_the_week_are_refused_by_the_database():
    volunteer = VolunteerFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Volunteer.objects.filter(pk=volunteer.pk).update(windows=FULL_WEEK + 1)


def test_volunteer_primary_key_is_the_user_id():
    volunteer = VolunteerFactory.create()
    assert volunteer.pk == volunteer.user_id


def test_dispatch_filters_by_window_in_sql():
    weekend = VolunteerFactory.create(windows=window_mask([SATURDAY_EVENING]))
    VolunteerFactory.create(windows=window_mask([MONDAY_MORNING]))
    VolunteerFactory.create(windows=0)
    found = Volunteer.objects.available_in(window_mask([SATURDAY_EVENING, SUNDAY_MORNING]))
    assert list(found) == [weekend]


def test_dispatch_filters_by_role_and_stage_zone_and_team():
    team = TeamFactory.create(departement="69")
    match = VolunteerFactory.create(
        roles={"tchatcheur": Stage.ACTIVE}, postcode="69003", teams=[team]
    )
    VolunteerFactory.create(roles={"tchatcheur": Stage.APPLIED}, postcode="69003", teams=[team])
    VolunteerFactory.create(roles={"traceur": Stage.ACTIVE}, postcode="69003", teams=[team])
    VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, postcode="75011", teams=[team])
    no_team = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, postcode="69100")
    requested = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, postcode="69100")
    Membership.objects.create(team=team, user=requested.user, state=Membership.State.REQUESTED)

    active_chatters = Volunteer.objects.with_role([role("tchatcheur")], stages=[Stage.ACTIVE])
    in_rhone = active_chatters.in_zone(departements=["69"])
    assert set(in_rhone) == {match, no_team, requested}
    assert list(in_rhone.in_team([team.pk])) == [match]
    assert set(active_chatters.in_zone(regions=["84"])) == {match, no_team, requested}


def test_a_volunteer_holds_each_role_once():
    volunteer = VolunteerFactory.create(roles=["traceur"])
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(volunteer=volunteer, role=role("traceur"))


def test_moving_a_role_records_who_and_when(coordinator):
    volunteer = VolunteerFactory.create(roles=["traceur"])
    assignment = volunteer.assignments.get()
    assignment.move_to(Stage.TRAINED, by=coordinator, reason="formation du 3")
    assignment.refresh_from_db()
    assert assignment.stage == Stage.TRAINED
    assert assignment.stage_changed_by == coordinator
    moves = list(assignment.transitions.values_list("from_stage", "to_stage", "by", "reason"))
    assert moves == [
        ("", Stage.APPLIED, None, ""),
        (Stage.APPLIED, Stage.TRAINED, coordinator.pk, "formation du 3"),
    ]


def test_a_move_the_lifecycle_does_not_allow_changes_nothing(coordinator):
    assignment = VolunteerFactory.create(roles=["traceur"]).assignments.get()
    with pytest.raises(ValueError):
        assignment.move_to(Stage.LAPSED, by=coordinator)
    assignment.refresh_from_db()
    assert assignment.stage == Stage.APPLIED
    assert RoleTransition.objects.filter(assignment=assignment).count() == 1


def test_two_coordinators_moving_the_same_role_at_once_make_one_move(coordinator):
    assignment = VolunteerFactory.create(roles=["traceur"]).assignments.get()
    stale = RoleAssignment.objects.get(pk=assignment.pk)
    assignment.move_to(Stage.TRAINED, by=coordinator)
    with pytest.raises(StaleStage):
        stale.move_to(Stage.TRAINED, by=coordinator)
    assert RoleTransition.objects.filter(assignment=assignment).count() == 2
