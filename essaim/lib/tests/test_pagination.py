from django.test import RequestFactory

from essaim.lib.pagination import int_param


def test_cursor_accepts_ascii_digits_only():
    factory = RequestFactory()
    assert int_param(factory.get("/", {"after": "42"}), "after") == 42
    for raw in ["²", "٣", "-1", "1e3", "9" * 19, ""]:
        assert int_param(factory.get("/", {"after": raw}), "after") is None
