"""The shaper's arithmetic (token buckets, halving, additive increase), driven by a clock of the
test's own: every call says what time it is."""

from __future__ import annotations

import pytest

from essaim.mailing.sender.shaping import (
    UNLIMITED,
    GroupLimiter,
    Shaper,
    ShapingConfig,
    TokenBucket,
    is_slow_down,
    parse_group_values,
)


def test_a_bucket_starts_full_and_refills_at_its_rate_up_to_its_capacity() -> None:
    bucket = TokenBucket(4.0, now=100.0)
    assert bucket.available(100.0) == 4
    bucket.take(4, 100.0)
    assert bucket.available(100.0) == 0
    assert bucket.delay(100.0) == 0.25
    assert bucket.available(100.25) == 1
    assert bucket.available(100.5) == 2
    assert bucket.available(1000.0) == 4  # never more than one second's worth
    assert bucket.delay(1000.0) == 0.0


def test_a_bucket_slower_than_one_message_a_second_still_holds_one_token() -> None:
    bucket = TokenBucket(0.5, now=0.0)
    assert bucket.available(0.0) == 1
    bucket.take(1, 0.0)
    assert bucket.delay(0.0) == 2.0
    assert bucket.available(1.0) == 0
    assert bucket.available(2.0) == 1


def test_a_bucket_whose_rate_changes_keeps_what_it_earned_within_the_new_capacity() -> None:
    bucket = TokenBucket(10.0, now=0.0)
    bucket.take(10, 0.0)
    bucket.set_rate(2.0, 0.5)  # 5 tokens earned at 10/s, capacity now 2
    assert bucket.available(0.5) == 2
    bucket.take(2, 0.5)
    assert bucket.available(1.0) == 1


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(0.0, now=0.0)


def config(**kw: float) -> ShapingConfig:
    return ShapingConfig(**{"floor": 1.0, "increase": 1.0, "cooldown": 1.0, **kw})  # type: ignore[arg-type]


def test_a_deferral_halves_a_configured_rate_once_per_cooldown_and_never_below_the_floor() -> None:
    group = GroupLimiter(40.0, config(increase=0.0), now=0.0)
    assert group.on_deferral(10.0) is True
    assert group.rate == 20.0
    assert group.on_deferral(10.5) is False  # the same burst of replies
    assert group.rate == 20.0
    assert group.on_deferral(11.0) is True
    assert group.rate == 10.0
    for t in range(12, 20):
        group.on_deferral(float(t))
    assert group.rate == 1.0
    assert (group.deferrals, group.halvings) == (11, 6)


def test_a_halved_rate_grows_back_additively_up_to_the_configured_rate() -> None:
    group = GroupLimiter(40.0, config(increase=2.0), now=0.0)
    group.on_deferral(10.0)
    assert group.rate == 20.0
    group.allowance(15.0)
    assert group.rate == 30.0
    group.allowance(100.0)
    assert group.rate == 40.0
    assert group.bucket is not None and group.bucket.rate == 40.0


def test_an_unlimited_group_is_halved_from_its_observed_rate_then_unlimited_again() -> None:
    group = GroupLimiter(None, config(increase=10.0), now=0.0)
    assert group.allowance(0.0) == UNLIMITED
    for step in range(10):
        group.took(10, step / 10)
    group.took(0, 1.0)  # closes the one-second window: 100 messages/s seen
    group.on_deferral(1.0)
    assert group.rate == 50.0
    assert group.allowance(1.0) == 1  # no burst right after a deferral
    group.allowance(3.0)
    assert group.rate == 70.0
    assert group.allowance(6.0) == UNLIMITED
    assert group.rate is None


def test_a_group_seen_idle_is_halved_from_twice_the_floor() -> None:
    group = GroupLimiter(None, config(floor=2.0), now=0.0)
    group.on_deferral(5.0)
    assert group.rate == 2.0


def test_the_global_bucket_caps_every_group_together() -> None:
    shaper = Shaper(config(global_rate=5.0), now=0.0)
    assert shaper.allowance("gmail", 0.0) == 5
    shaper.took("gmail", 5, 0.0)
    assert shaper.allowance("orange", 0.0) == 0
    assert shaper.delay(["orange"], 0.0) == 0.2
    assert shaper.allowance("orange", 0.4) == 2


def test_a_group_rate_and_connection_cap_come_from_the_configuration() -> None:
    shaper = Shaper(config(rates={"gmail": 3.0}, connections={"gmail": 2}, per_provider=6), now=0.0)  # type: ignore[arg-type]
    assert (shaper.cap("gmail"), shaper.cap("orange")) == (2, 6)
    assert (shaper.allowance("gmail", 0.0), shaper.allowance("orange", 0.0)) == (3, UNLIMITED)
    shaper.took("gmail", 3, 0.0)
    assert shaper.allowance("gmail", 0.0) == 0
    assert shaper.delay(["gmail", "orange"], 0.0) == 0.0
    assert shaper.delay(["gmail"], 0.0) == pytest.approx(1 / 3)
    assert shaper.snapshot() == {"gmail": {"rate": 3.0, "sent": 3, "deferrals": 0, "halvings": 0}}


def test_a_group_unknown_to_this_code_is_shaped_like_other() -> None:
    shaper = Shaper(config(rates={"other": 2.0}), now=0.0)  # type: ignore[arg-type]
    assert shaper.allowance("newgroup", 0.0) == 2


@pytest.mark.parametrize(
    ("code", "text", "slow"),
    [
        (421, "4.4.2 going away", True),
        (451, "4.7.1 rate limited", True),
        (450, "4.7.0 try later", True),
        (451, "4.3.0 temporary failure", False),
        (452, "4.2.2 mailbox full", False),
    ],
)
def test_421_and_4_7_x_ask_to_slow_down_and_other_deferrals_do_not(
    code: int, text: str, slow: bool
) -> None:
    enhanced = text.split()[0]
    assert is_slow_down(code, enhanced) is slow


def test_group_values_are_read_from_a_comma_separated_list() -> None:
    assert parse_group_values(" gmail=50, Orange=2.5 ,") == {"gmail": 50.0, "orange": 2.5}
    assert parse_group_values("") == {}
    assert parse_group_values("microsoft=4", integer=True) == {"microsoft": 4}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "hotmail=3",
            "'hotmail': unknown provider group "
            "(known: gmail, microsoft, yahoo, orange, free, sfr, laposte, apple, other)",
        ),
        ("gmail", "'gmail': expected group=value"),
        ("gmail=fast", "'gmail=fast': 'fast' is not a number"),
        ("gmail=0", "'gmail=0': the value must be positive"),
        ("gmail=-2", "'gmail=-2': the value must be positive"),
        ("gmail=inf", "'gmail=inf': the value must be positive"),
        ("gmail=nan", "'gmail=nan': the value must be positive"),
    ],
)
def test_bad_group_values_are_refused_with_the_bad_part_named(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_group_values(raw)
    assert str(error.value) == message


def test_a_fractional_connection_count_is_refused() -> None:
    with pytest.raises(ValueError) as error:
        parse_group_values("gmail=1.5", integer=True)
    assert str(error.value) == "'gmail=1.5': '1.5' is not a number"
