"""The OpenAPI schema and the docs page, served from our own assets under a strict CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

EXPECTED_OPERATIONS = {
    ("get", "/api/health"): "health",
    ("get", "/api/v1/contacts"): "list_contacts",
    ("put", "/api/v1/contacts"): "put_contact",
    ("get", "/api/v1/contacts/{id}"): "get_contact",
    ("delete", "/api/v1/contacts/{id}"): "delete_contact",
    ("get", "/api/v1/contacts/{id}/gdpr"): "contact_gdpr_report",
    ("get", "/api/v1/tags"): "list_tags",
    ("post", "/api/v1/tags"): "create_tag",
    ("delete", "/api/v1/tags/{name}"): "delete_tag",
    ("get", "/api/v1/segments"): "list_segments",
    ("post", "/api/v1/segments"): "create_segment",
    ("get", "/api/v1/segments/{id}"): "get_segment",
    ("get", "/api/v1/campaigns"): "list_campaigns",
    ("post", "/api/v1/campaigns"): "create_campaign",
    ("get", "/api/v1/campaigns/{id}"): "get_campaign",
    ("get", "/api/v1/campaigns/{id}/status"): "campaign_status",
    ("post", "/api/v1/campaigns/{id}/approve"): "approve_campaign",
    ("post", "/api/v1/campaigns/{id}/launch"): "launch_campaign",
    ("post", "/api/v1/campaigns/{id}/pause"): "pause_campaign",
    ("post", "/api/v1/campaigns/{id}/resume"): "resume_campaign",
    ("post", "/api/v1/campaigns/{id}/cancel"): "cancel_campaign",
    ("get", "/api/v1/me"): "get_my_profile",
    ("patch", "/api/v1/me"): "update_my_profile",
    ("get", "/api/v1/teams"): "list_my_teams",
    ("get", "/api/v1/teams/{id}"): "get_team",
    ("get", "/api/v1/teams/{id}/members"): "list_team_members",
    ("post", "/api/v1/teams/{id}/join"): "join_team",
    ("post", "/api/v1/teams/{id}/requests/{membership}"): "decide_join_request",
    ("get", "/api/v1/campaigns/{id}/unknown"): "list_unknown",
    ("post", "/api/v1/campaigns/{id}/requeue-unknown"): "requeue_unknown",
    ("post", "/api/v1/campaigns/{id}/duplicate"): "duplicate_campaign",
    ("get", "/api/v1/campaign-templates"): "list_templates",
    ("post", "/api/v1/campaign-templates"): "create_template",
    ("get", "/api/v1/missions/offered"): "offered_missions",
    ("post", "/api/v1/missions/{id}/claim"): "claim_mission",
    ("get", "/api/v1/claims"): "my_claims",
    ("post", "/api/v1/claims/{id}/proof"): "prove_claim",
    ("post", "/api/v1/claims/{id}/release"): "release_claim",
    ("get", "/api/v1/missions"): "list_missions",
    ("post", "/api/v1/missions"): "create_mission",
    ("get", "/api/v1/missions/{id}"): "get_mission",
    ("post", "/api/v1/missions/{id}/publish"): "publish_mission",
    ("get", "/api/v1/review-queue"): "review_queue",
    ("post", "/api/v1/claims/{id}/accept"): "accept_claim",
    ("post", "/api/v1/claims/{id}/return"): "return_claim",
    ("get", "/api/v1/talking-points"): "list_talking_points",
    ("post", "/api/v1/talking-points"): "create_talking_point",
    ("get", "/api/v1/talking-points/{id}"): "get_talking_point",
    ("post", "/api/v1/talking-points/{id}/versions"): "publish_talking_point_version",
    ("post", "/api/v1/talking-points/{id}/retire"): "retire_talking_point",
    ("post", "/api/v1/missions/{id}/close"): "close_mission",
    ("get", "/api/v1/missions/{id}/kit"): "get_kit",
    ("put", "/api/v1/missions/{id}/kit"): "update_kit",
    ("post", "/api/v1/missions/{id}/kit/files"): "upload_kit_file",
    ("delete", "/api/v1/missions/{id}/kit/files/{file_id}"): "delete_kit_file_api",
    ("post", "/api/v1/calls"): "create_call",
    ("get", "/api/v1/calls/{id}"): "get_call",
    ("get", "/api/v1/calls/{id}/funnel"): "call_funnel",
    ("post", "/api/v1/me/invitations"): "send_invitations",
    ("get", "/api/v1/me/invitations"): "my_invitation_stats",
    ("get", "/api/v1/watch/sources"): "list_sources",
    ("post", "/api/v1/watch/sources"): "add_source",
    ("get", "/api/v1/watch/sources/{id}"): "get_source",
    ("get", "/api/v1/watch/items"): "list_items",
    ("get", "/api/v1/watch/items/{id}"): "get_item",
    ("get", "/api/v1/watch/stories"): "list_stories",
    ("get", "/api/v1/watch/stories/{id}"): "get_story",
    ("get", "/api/v1/watch/watchlists"): "list_watchlists",
    ("post", "/api/v1/watch/watchlists"): "create_watchlist",
    ("get", "/api/v1/watch/watchlists/{id}"): "get_watchlist",
    ("patch", "/api/v1/watch/watchlists/{id}"): "update_watchlist",
    ("delete", "/api/v1/watch/watchlists/{id}"): "delete_watchlist",
    ("get", "/api/v1/watch/watchlists/{id}/matches"): "list_watchlist_matches",
    ("post", "/api/v1/watch/submissions"): "submit_link",
    ("get", "/api/v1/watch/submissions"): "my_submissions",
    ("get", "/api/v1/watch/reviews"): "submission_queue",
    ("post", "/api/v1/watch/submissions/{id}/review"): "review_submission",
    ("get", "/api/v1/watch/syntheses"): "list_syntheses",
    ("get", "/api/v1/watch/syntheses/{id}"): "get_synthesis",
    ("get", "/api/v1/watch/alerts"): "list_alerts",
}


def test_the_openapi_schema_lists_every_operation_with_bearer_auth(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert (schema["openapi"], schema["info"]["title"], schema["info"]["version"]) == (
        "3.1.0",
        "Essaim API",
        "1",
    )
    operations = {
        (method, path): op["operationId"]
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    }
    assert operations == EXPECTED_OPERATIONS
    assert schema["components"]["securitySchemes"] == {
        "TokenAuth": {"type": "http", "scheme": "bearer"}
    }
    put = schema["paths"]["/api/v1/contacts"]["put"]
    assert sorted(put["responses"]) == [
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "422",
        "429",
    ]
    assert put["security"] == [{"TokenAuth": []}]


def test_the_docs_page_has_no_inline_script_and_no_third_party_asset(db):
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    executable = [(attrs, body) for attrs, body in scripts if "application/json" not in attrs]
    assert [attrs.strip() for attrs, _ in executable] == [
        'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"',
        'src="/static/api/swagger-init.js"',
    ]
    assert all(body.strip() == "" for _, body in executable)
    assert "style=" not in html and "<style" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_the_docs_assets_are_served_by_the_site(db):
    client = Client()
    for path in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/api/swagger-init.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
