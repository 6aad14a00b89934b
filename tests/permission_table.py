"""The permission matrix's table: for every URL pattern and every API operation, what each role
gets. Read with tests/permission_world.py (the objects kwargs name) and tests/permission_matrix.py
(the machinery); the tests are tests/test_permission_matrix.py.

Pages: `web(kwargs, get=..., post=...)`, one outcome per role in the order
    anonymous  volunteer  coordinator  other_coordinator  hq  hq_admin
API operations: `api(outcomes, params)`, one outcome per role in the order
    anonymous  volunteer  coordinator  other_coordinator  hq  hq_admin  read_only
(coordinator: of this team and zone; other_coordinator: of another team; read_only: a token of
the HQ admin with the "read" scope only, which does not reach contacts (that takes
"contacts:read"); the users' own tokens have every scope.)
Outcomes: login (a redirect to the login page), 302 (a redirect elsewhere), 200, 201, 202, 204,
400, 401, 403, 404, 405, 409, 422, 429. Every object of the world belongs to Paris: its
coordinator is `coordinator`; `other_coordinator` runs Lyon. `volunteer` is a fellow member of
the Paris team, not the owner of the claim, proof and invitation.

A page answers 404 rather than 403 where saying "forbidden" would confirm that the object
exists (a contact outside one's zones, another team's mission). Writes through the API are sent
an empty JSON object unless `body` is given, so 422 in a write's row means "let through to the
validation"; a refusal comes before the body is read.
"""

from __future__ import annotations

import base64

from tests.permission_matrix import Api, Web, api, web

PDF = base64.b64encode(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n").decode()

# A mission of the Paris team ("@team": the world's team id).
MISSION = {
    "kind": "relay",
    "title": "Répondre sur le forum",
    "brief": "Avec vos mots.",
    "role": "tchatcheur",
    "team": "@team",
    "quota": 2,
    "deadline": "2099-01-01T12:00:00+01:00",
}

WEB: dict[str, Web] = {
    # --- Accounts: the home page, login, magic links, the audit log (HQ) ---
    "home": web(get="login 200 200 200 200 200", post="login 200 200 200 200 200"),
    "accounts:login": web(get="200 302 302 302 302 302", post="200 302 302 302 302 302"),
    "accounts:magic_request": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "accounts:magic_sent": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "accounts:magic_login": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    "accounts:logout": web(
        get="405 405 405 405 405 405", post="login login login login login login"
    ),
    "accounts:audit_log": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    # The living style guide: the interface builders' page, HQ only.
    "accounts:style_guide": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    # Notifications: everyone signed in has their own page; the world's notification is the
    # coordinator's (a proof to review): opened (read, then off to the review queue) or marked
    # read by them only, someone else's is a 404. An empty digest choice is a 400.
    "accounts:notifications": web(
        get="login 200 200 200 200 200", post="login 405 405 405 405 405"
    ),
    "accounts:notification_open": web(
        "pk=notification", get="login 404 302 404 404 404", post="login 405 405 405 405 405"
    ),
    "accounts:notification_read": web(
        "pk=notification", get="login 405 405 405 405 405", post="login 404 302 404 404 404"
    ),
    "accounts:notification_read_all": web(
        get="login 405 405 405 405 405", post="login 302 302 302 302 302"
    ),
    "accounts:notification_digest": web(
        get="login 405 405 405 405 405", post="login 400 400 400 400 400"
    ),
    # Second factor (staff): the code step needs a session that owes a code (others go home);
    # the settings pages are staff's; the Sécurité page (locks, resets) is the HQ admin's.
    "accounts:two_factor_verify": web(
        get="login 403 302 302 302 302", post="login 403 302 302 302 302"
    ),
    "accounts:two_factor_settings": web(
        get="login 403 200 200 200 200", post="login 403 200 200 200 200"
    ),
    "accounts:two_factor_enrol": web(
        get="login 403 200 200 200 200", post="login 403 200 200 200 200"
    ),
    "accounts:two_factor_codes": web(
        get="login 403 302 302 302 302", post="login 403 302 302 302 302"
    ),
    "accounts:two_factor_regenerate": web(
        get="login 405 405 405 405 405", post="login 403 302 302 302 302"
    ),
    "accounts:two_factor_reset": web(
        get="login 405 405 405 405 405", post="login 403 302 302 302 302"
    ),
    # API tokens: HQ staff manage their own, an HQ admin everyone's (here: HQ staff's token).
    "api_tokens:list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "api_tokens:create": web(get="login 405 405 405 405 405", post="login 403 403 403 200 200"),
    "api_tokens:edit": web(
        "pk=api_token", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "api_tokens:revoke": web(
        "pk=api_token", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "accounts:security": web(get="login 403 403 403 403 200", post="login 403 403 403 403 200"),
    "accounts:security_unlock": web(
        get="login 405 405 405 405 405", post="login 403 403 403 403 302"
    ),
    "accounts:security_reset_two_factor": web(
        "user_id=staff_user", get="login 405 405 405 405 405", post="login 403 403 403 403 302"
    ),
    # --- The base: HQ in clear; a coordinator sees their zones, masked, and reveals one contact
    # (logged); a contact out of one's zones is 404. Imports, segments, tags, GDPR: HQ only.
    "people:contact_list": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "people:contact_detail": web(
        "pk=contact", get="login 403 200 404 200 200", post="login 405 405 405 405 405"
    ),
    "people:contact_reveal": web(
        "pk=contact", get="login 405 405 405 405 405", post="login 403 200 404 302 302"
    ),
    "people:export": web(get="login 405 405 405 405 405", post="login 403 403 403 200 200"),
    # A contact by hand and the list's bulk actions: HQ only, as writes through the API are (an
    # empty form is shown again; an empty bulk action goes back to the list with its error).
    "people:contact_create": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "people:contact_edit": web(
        "pk=contact", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "people:contact_bulk": web(get="login 405 405 405 405 405", post="login 403 403 403 302 302"),
    "people:segment_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "people:segment_create": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "people:segment_count": web(get="login 405 405 405 405 405", post="login 403 403 403 200 200"),
    "people:segment_edit": web(
        "pk=segment", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "people:segment_recount": web(
        "pk=segment", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    # Deleting a segment or a tag asks first (GET, or a POST without confirm=1, shows the
    # question); the matrix's empty POST is such a question.
    "people:segment_delete": web(
        "pk=segment", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "people:tag_list": web(get="login 403 403 403 200 200", post="login 403 403 403 302 302"),
    "people:tag_rename": web(
        "pk=tag", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "people:tag_delete": web(
        "pk=tag", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "people:contact_access": web(
        "pk=contact", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "people:contact_erase": web(
        "pk=contact", get="login 403 403 403 200 200", post="login 403 403 403 302 302"
    ),
    "people:import_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "people:import_upload": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "people:import_detail": web(
        "pk=import", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "people:import_mapping": web(
        "pk=import", get="login 403 403 403 302 302", post="login 403 403 403 302 302"
    ),
    "people:import_report": web(
        "pk=import", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "people:import_warnings": web(
        "pk=import", get="login 403 403 403 404 404", post="login 405 405 405 405 405"
    ),
    # --- Public pages. The token in a link is its only key: a forged one opens nothing (400).
    "public:signup": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "public:signup_sent": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "public:signup_confirm": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    "public:unsubscribe": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    "army_public:engage": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "army_public:engage_sent": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "army_public:engage_confirm": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    "army_public:call_landing": web(
        "pk=call", get="200 200 200 200 200 200", post="405 405 405 405 405 405"
    ),
    "army_public:invitation_confirm": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    "army_public:invitation_report": web(
        "token=token", get="400 400 400 400 400 400", post="400 400 400 400 400 400"
    ),
    # --- Mass mailing: HQ only. An empty POST to launch or requeue is a 400 (nothing to do).
    "mailing:campaign_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "mailing:campaign_create": web(
        get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "mailing:campaign_detail": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "mailing:campaign_edit": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "mailing:campaign_preview": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "mailing:campaign_preview_frame": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "mailing:campaign_test_send": web(
        "pk=campaign", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "mailing:campaign_launch": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 403 403 403 400 400"
    ),
    "mailing:campaign_pause": web(
        "pk=campaign", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "mailing:campaign_resume": web(
        "pk=campaign", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    # Cancelling asks first (GET, or a POST without confirm=1, shows the question).
    "mailing:campaign_cancel": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "mailing:campaign_requeue_unknown": web(
        "pk=campaign", get="login 405 405 405 405 405", post="login 403 403 403 400 400"
    ),
    # Duplicate (a new draft, then its composer) and saved templates: HQ, as campaigns. An
    # empty POST to save a template is a 400 (no name).
    "mailing:campaign_duplicate": web(
        "pk=campaign", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "mailing:template_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "mailing:template_create": web(
        "pk=campaign", get="login 403 403 403 200 200", post="login 403 403 403 400 400"
    ),
    "mailing:template_delete": web(
        "pk=campaign_template", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    # --- The army: a volunteer's own pages (404 for an account without a volunteer profile),
    # calls (HQ), invitations (volunteers; reports: HQ), teams (run by their coordinators).
    "army:profile": web(get="login 200 404 404 404 404", post="login 200 404 404 404 404"),
    "army:call_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "army:call_create": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "army:call_detail": web(
        "pk=call", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "army:password": web(get="login 200 404 404 404 404", post="login 200 404 404 404 404"),
    "army:invitations": web(get="login 200 403 403 403 403", post="login 403 403 403 403 403"),
    "army:invitation_reports": web(
        get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "army:team_list": web(get="login 200 200 200 200 200", post="login 200 200 200 200 200"),
    "army:team_create": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "army:team_dashboard": web(
        "pk=team", get="login 403 200 403 200 200", post="login 403 200 403 200 200"
    ),
    "army:team_join": web(
        "pk=team", get="login 405 405 405 405 405", post="login 302 403 403 403 403"
    ),
    "army:team_leave": web(
        "pk=team", get="login 405 405 405 405 405", post="login 302 302 302 302 302"
    ),
    "army:team_decide": web(
        "pk=team membership_pk=request",
        get="login 405 405 405 405 405",
        post="login 403 302 403 302 302",
    ),
    "army:team_coordinator": web(
        "pk=team membership_pk=membership",
        get="login 405 405 405 405 405",
        post="login 403 403 403 302 302",
    ),
    "army:member_detail": web(
        "pk=team user_pk=member", get="login 403 200 403 200 200", post="login 403 200 403 200 200"
    ),
    "army:role_move": web(
        "pk=team user_pk=member assignment_pk=assignment",
        get="login 405 405 405 405 405",
        post="login 403 302 403 302 302",
    ),
    # --- Missions. Claim, release, prove and review take POST only (GET is 404). A mission,
    # proof or kit of another team is 404 to its coordinator, as to a volunteer it is not
    # offered to. The runner's pages (library, missions_run) show each coordinator their own.
    "army:my_missions": web(get="login 200 403 403 403 403", post="login 200 403 403 403 403"),
    "army:mission_settings": web(get="login 200 403 403 403 403", post="login 200 403 403 403 403"),
    "army:leaderboard": web(get="login 200 200 200 200 200", post="login 200 200 200 200 200"),
    "army:mission_detail": web(
        "pk=mission", get="login 200 403 403 403 403", post="login 200 403 403 403 403"
    ),
    "army:mission_claim": web(
        "pk=mission", get="login 404 404 404 404 404", post="login 302 403 403 403 403"
    ),
    "army:mission_release": web(
        "pk=mission", get="login 404 404 404 404 404", post="login 404 403 403 403 403"
    ),
    "army:mission_prove": web(
        "pk=mission", get="login 404 404 404 404 404", post="login 404 403 403 403 403"
    ),
    "army:proof_screenshot": web(
        "pk=proof", get="login 404 200 404 200 200", post="login 404 200 404 200 200"
    ),
    "army:review_queue": web(get="login 403 200 200 200 200", post="login 403 200 200 200 200"),
    # HQ's oversight: missions above the points cap wait for another HQ member; sudden jumps in
    # points; a person's accepted work. A coordinator lifts an inviter's suspension in their team.
    "army:mission_approvals": web(
        get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "army:mission_decide": web(
        "pk=mission", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "army:points_jumps": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "army:accepted_work": web(
        "pk=member", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "army:invitation_lift": web(
        "pk=member", get="login 405 405 405 405 405", post="login 404 302 404 302 302"
    ),
    "army:review": web(
        "pk=claim", get="login 404 404 404 404 404", post="login 404 302 404 302 302"
    ),
    "army:missions_run": web(get="login 403 200 200 200 200", post="login 403 200 200 200 200"),
    "army:mission_create": web(get="login 403 200 200 200 200", post="login 403 200 200 200 200"),
    # The world's mission is published: its runners are sent back to the list, told that it is
    # no longer a draft to edit or publish (a draft's edit and confirmation answer 200).
    "army:mission_edit": web(
        "pk=mission", get="login 404 302 404 302 302", post="login 404 302 404 302 302"
    ),
    "army:mission_duplicate": web(
        "pk=mission", get="login 404 404 404 404 404", post="login 404 302 404 302 302"
    ),
    "army:mission_publish": web(
        "pk=mission", get="login 404 302 404 302 302", post="login 404 302 404 302 302"
    ),
    "army:mission_close": web(
        "pk=mission", get="login 404 404 404 404 404", post="login 404 302 404 302 302"
    ),
    "army:mission_kit": web(
        "pk=mission", get="login 404 200 404 200 200", post="login 404 400 404 400 400"
    ),
    "army:kit_file": web(
        "pk=kit_file", get="login 200 200 404 200 200", post="login 200 200 404 200 200"
    ),
    "army:kit_file_delete": web(
        "pk=kit_file", get="login 404 404 404 404 404", post="login 404 302 404 302 302"
    ),
    "army:library": web(get="login 403 200 200 200 200", post="login 403 200 200 200 200"),
    "army:talking_point_create": web(
        get="login 403 200 200 200 200", post="login 403 200 200 200 200"
    ),
    "army:talking_point": web(
        "pk=talking_point", get="login 403 200 404 200 200", post="login 403 400 404 400 400"
    ),
    "army:talking_point_retire": web(
        "pk=talking_point", get="login 404 404 404 404 404", post="login 403 302 404 302 302"
    ),
    # --- The watch: HQ only for now (the veilleurs' and traceurs' roles come later). An empty
    # POST to add or import is the form again with its errors (200).
    "watch:source_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "watch:source_add": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "watch:source_detail": web(
        "pk=source", get="login 403 403 403 200 200", post="login 405 405 405 405 405"
    ),
    "watch:source_disable": web(
        "pk=source", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:source_enable": web(
        "pk=source", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:opml_import": web(get="login 403 403 403 200 200", post="login 403 403 403 200 200"),
    "watch:opml_export": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    # The stream of stories: HQ and every coordinator (who open missions from it), not the
    # volunteers; its evidence too. Merges suggested by the de-duplication: HQ decides (a
    # suggestion decided already sends back to the list, 302 again).
    "watch:story_list": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    # The live banners' polls answer as their list, but 403 to a signed-out browser: htmx would
    # swap the login page into the banner.
    "watch:story_news": web(get="403 403 200 200 200 200", post="405 405 405 405 405 405"),
    "watch:story_detail": web(
        "pk=story", get="login 403 200 200 200 200", post="login 405 405 405 405 405"
    ),
    "watch:evidence_download": web(
        "pk=evidence", get="login 403 200 200 200 200", post="login 405 405 405 405 405"
    ),
    # Respond: HQ and the coordinators of a team open a mission from a story (an empty form
    # comes back with its errors, 200); the army's rules then decide the team.
    "watch:story_respond": web(
        "pk=story", get="login 403 200 200 200 200", post="login 403 200 200 200 200"
    ),
    # The daily synthesis: those who see the stream read the published ones and ask for them
    # by email; the writers (HQ, active "redacteur" volunteers) see the drafts, edit and
    # publish (an empty post shows the form, or asks again, 200). The world's synthesis is a draft:
    # 404 to readers who do not write.
    "watch:synthesis_list": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:synthesis_prepare": web(
        get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:synthesis_subscribe": web(
        get="login 405 405 405 405 405", post="login 403 302 302 302 302"
    ),
    "watch:synthesis_detail": web(
        "pk=synthesis", get="login 403 404 404 200 200", post="login 405 405 405 405 405"
    ),
    "watch:synthesis_edit": web(
        "pk=synthesis", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:synthesis_publish": web(
        "pk=synthesis", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:suggestion_list": web(get="login 403 403 403 200 200", post="login 405 405 405 405 405"),
    "watch:suggestion_accept": web(
        "pk=suggestion", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:suggestion_reject": web(
        "pk=suggestion", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    # Watchlists: HQ writes; coordinators (and active veilleurs, not in this world) read, try a
    # query and search. An empty test or search is the page with its hint (200); a delete
    # without confirm=1 asks again (200).
    "watch:watchlist_list": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:watchlist_create": web(
        get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:watchlist_test": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:watchlist_detail": web(
        "pk=watchlist", get="login 403 200 200 200 200", post="login 405 405 405 405 405"
    ),
    # The review's progress line, polled by the watchlist's page (403 signed out, as above).
    "watch:watchlist_backfill": web(
        "pk=watchlist", get="403 403 200 200 200 200", post="405 405 405 405 405 405"
    ),
    "watch:watchlist_edit": web(
        "pk=watchlist", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:watchlist_delete": web(
        "pk=watchlist", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:item_search": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    # The tracers' page: active tracers and veilleurs (the world's volunteer is a tracer; an
    # empty submission is a 400). HQ and coordinators hold no such role.
    "watch:tracer": web(get="login 200 403 403 403 403", post="login 400 403 403 403 403"),
    # Review: HQ, veilleurs, and the coordinators of the tracer's teams (the other coordinator
    # sees an empty queue and gets a 404 for Paris's submission); an empty decision goes back
    # to the queue with its error, changing nothing.
    "watch:review_queue": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:submission_review": web(
        "pk=submission", get="login 405 405 405 405 405", post="login 404 302 404 302 302"
    ),
    "watch:submission_screenshot": web(
        "pk=submission", get="login 404 200 404 200 200", post="login 405 405 405 405 405"
    ),
    # Triage: HQ (and active veilleurs, not in this world) take and decide; coordinators read
    # the queue, a story's triage and the alerts. Taking, giving back or deciding sends back
    # to the story (302; an empty decision is refused there with a message).
    "watch:triage_queue": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:triage_news": web(get="403 403 200 200 200 200", post="405 405 405 405 405 405"),
    "watch:triage_story": web(
        "pk=story", get="login 403 200 200 200 200", post="login 405 405 405 405 405"
    ),
    "watch:triage_take": web(
        "pk=story", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:triage_release": web(
        "pk=story", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:triage_decide": web(
        "pk=story", get="login 405 405 405 405 405", post="login 403 403 403 302 302"
    ),
    "watch:alert_list": web(get="login 403 200 200 200 200", post="login 405 405 405 405 405"),
    "watch:alert_news": web(get="403 403 200 200 200 200", post="405 405 405 405 405 405"),
    # One's own choice of alerts: those who see the alerts; a POST saves it and comes back.
    "watch:alert_settings": web(get="login 403 200 200 200 200", post="login 403 302 302 302 302"),
    # Webhooks: HQ only; an empty address is the form again with its error (400); a delete
    # asks first (the confirmation, 200) and acts only on its confirm=1.
    "watch:webhook_list": web(get="login 403 403 403 200 200", post="login 403 403 403 400 400"),
    "watch:webhook_delete": web(
        "pk=webhook", get="login 403 403 403 200 200", post="login 403 403 403 200 200"
    ),
    "watch:alert_detail": web(
        "pk=alert", get="login 403 200 200 200 200", post="login 405 405 405 405 405"
    ),
    # --- The development mail catcher: HQ only, and only where DEVMAIL_ENABLED (404 otherwise).
    "devmail:inbox": web(get="login 404 404 404 200 200", post="login 404 404 404 200 200"),
    "devmail:message": web(
        "pk=caught", get="login 404 404 404 200 200", post="login 404 404 404 200 200"
    ),
    "devmail:message_html": web(
        "pk=caught", get="login 404 404 404 200 200", post="login 404 404 404 200 200"
    ),
    # --- Django's admin (HQ admins only: User.is_staff), the language switch, security.txt, and
    # the API's own pages: schema and docs are public, the bare root and unknown paths 404.
    "admin:index": web(get="302 302 302 302 302 200", post="302 302 302 302 302 200"),
    "admin:login": web(get="200 200 200 200 200 302", post="200 200 200 200 200 200"),
    # RFC 9116: the deployment's security contact, public.
    "security_txt": web(get="200 200 200 200 200 200", post="405 405 405 405 405 405"),
    # Browsers ask for it unprompted: a redirect to the static SVG icon, for everyone.
    "favicon": web(get="302 302 302 302 302 302", post="405 405 405 405 405 405"),
    "set_language": web(get="302 302 302 302 302 302", post="302 302 302 302 302 302"),
    "api:openapi-json": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "api:openapi-view": web(get="200 200 200 200 200 200", post="200 200 200 200 200 200"),
    "api:api-root": web(get="404 404 404 404 404 404", post="404 404 404 404 404 404"),
    # ninja's catch-all: a JSON 404 for any other path under /api/.
    r"api/^(?P<path>[\s\S]*)$": web(
        get="404 404 404 404 404 404", post="404 404 404 404 404 404", path="/api/v1/pas-une-route"
    ),
}

API: dict[str, Api] = {
    # The token's user decides (accounts.rules, army.rules, army.rules.missions); a read-only
    # token is refused every write (403) before the body is read. A coordinator of another team
    # gets 404 for this team's mission, claim, talking point or kit, and 403 for its members.
    "DELETE /api/v1/contacts/{id}": api("401 403 403 403 204 204 403", "id=contact"),
    "DELETE /api/v1/missions/{id}/kit/files/{file_id}": api(
        "401 403 204 404 204 204 403", "id=mission file_id=kit_file"
    ),
    "DELETE /api/v1/tags/{name}": api("401 403 403 403 204 204 403", "name=tag_name"),
    "DELETE /api/v1/watch/watchlists/{id}": api("401 403 403 403 204 204 403", "id=watchlist"),
    "GET /api/health": api("200 200 200 200 200 200 200"),
    "GET /api/v1/calls/{id}": api("401 403 403 403 200 200 200", "id=call"),
    "GET /api/v1/calls/{id}/funnel": api("401 403 403 403 200 200 200", "id=call"),
    "GET /api/v1/campaigns": api("401 403 403 403 200 200 200"),
    "GET /api/v1/campaigns/{id}": api("401 403 403 403 200 200 200", "id=campaign"),
    "GET /api/v1/campaigns/{id}/status": api("401 403 403 403 200 200 200", "id=campaign"),
    "GET /api/v1/campaigns/{id}/unknown": api("401 403 403 403 200 200 200", "id=campaign"),
    "GET /api/v1/campaign-templates": api("401 403 403 403 200 200 200"),
    "GET /api/v1/claims": api("401 200 403 403 403 403 403"),
    "GET /api/v1/contacts": api("401 403 200 200 200 200 403"),
    "GET /api/v1/contacts/{id}": api("401 403 200 404 200 200 403", "id=contact"),
    "GET /api/v1/contacts/{id}/gdpr": api("401 403 403 403 200 200 403", "id=contact"),
    "GET /api/v1/me": api("401 200 404 404 404 404 404"),
    "GET /api/v1/me/invitations": api("401 200 403 403 403 403 403"),
    "GET /api/v1/missions": api("401 403 200 200 200 200 200"),
    "GET /api/v1/missions/offered": api("401 200 403 403 403 403 403"),
    "GET /api/v1/missions/{id}": api("401 403 200 404 200 200 200", "id=mission"),
    "GET /api/v1/missions/{id}/kit": api("401 403 200 404 200 200 200", "id=mission"),
    "GET /api/v1/review-queue": api("401 403 200 200 200 200 200"),
    "GET /api/v1/segments": api("401 403 403 403 200 200 200"),
    "GET /api/v1/segments/{id}": api("401 403 403 403 200 200 200", "id=segment"),
    "GET /api/v1/tags": api("401 403 403 403 200 200 200"),
    "GET /api/v1/talking-points": api("401 403 200 200 200 200 200"),
    "GET /api/v1/talking-points/{id}": api("401 403 200 404 200 200 200", "id=talking_point"),
    "GET /api/v1/teams": api("401 200 200 200 200 200 200"),
    "GET /api/v1/teams/{id}": api("401 200 200 200 200 200 200", "id=team"),
    "GET /api/v1/teams/{id}/members": api("401 403 200 403 200 200 200", "id=team"),
    # The watch: HQ's tokens; a read-only token reads but does not add.
    "GET /api/v1/watch/items": api("401 403 403 403 200 200 200"),
    "GET /api/v1/watch/items/{id}": api("401 403 403 403 200 200 200", "id=item"),
    "GET /api/v1/watch/sources": api("401 403 403 403 200 200 200"),
    "GET /api/v1/watch/sources/{id}": api("401 403 403 403 200 200 200", "id=source"),
    # The stream of stories: HQ's and every coordinator's tokens, read-only.
    "GET /api/v1/watch/stories": api("401 403 200 200 200 200 200"),
    "GET /api/v1/watch/stories/{id}": api("401 403 200 200 200 200 200", "id=story"),
    # Alerts: read by those who see the triage (coordinators, HQ; veilleurs not in this world).
    "GET /api/v1/watch/alerts": api("401 403 200 200 200 200 200"),
    "GET /api/v1/watch/watchlists": api("401 403 200 200 200 200 200"),
    # The syntheses, read: those who see the stream; the world's is a draft, the writers' (HQ).
    "GET /api/v1/watch/syntheses": api("401 403 200 200 200 200 200"),
    "GET /api/v1/watch/syntheses/{id}": api("401 403 404 404 200 200 200", "id=synthesis"),
    "GET /api/v1/watch/watchlists/{id}": api("401 403 200 200 200 200 200", "id=watchlist"),
    "GET /api/v1/watch/watchlists/{id}/matches": api("401 403 200 200 200 200 200", "id=watchlist"),
    # Submissions: a tracer reads their own; reviewers (HQ, veilleurs, coordinators) the queue.
    "GET /api/v1/watch/submissions": api("401 200 403 403 403 403 403"),
    "GET /api/v1/watch/reviews": api("401 403 200 200 200 200 200"),
    "PATCH /api/v1/me": api("401 200 404 404 404 404 403"),
    "PATCH /api/v1/watch/watchlists/{id}": api(
        "401 403 403 403 200 200 403", "id=watchlist", body={"active": False}
    ),
    "POST /api/v1/calls": api("401 403 403 403 422 422 403"),
    "POST /api/v1/campaigns": api("401 403 403 403 422 422 403"),
    "POST /api/v1/campaigns/{id}/approve": api("401 403 403 403 409 409 403", "id=campaign"),
    "POST /api/v1/campaigns/{id}/cancel": api("401 403 403 403 200 200 403", "id=campaign"),
    "POST /api/v1/campaigns/{id}/duplicate": api("401 403 403 403 201 201 403", "id=campaign"),
    "POST /api/v1/campaign-templates": api("401 403 403 403 422 422 403"),
    "POST /api/v1/campaigns/{id}/launch": api("401 403 403 403 409 409 403", "id=campaign"),
    "POST /api/v1/campaigns/{id}/pause": api("401 403 403 403 409 409 403", "id=campaign"),
    "POST /api/v1/campaigns/{id}/requeue-unknown": api(
        "401 403 403 403 422 422 403", "id=campaign"
    ),
    "POST /api/v1/campaigns/{id}/resume": api("401 403 403 403 409 409 403", "id=campaign"),
    "POST /api/v1/claims/{id}/accept": api("401 403 200 404 200 200 403", "id=claim"),
    "POST /api/v1/claims/{id}/proof": api("401 404 403 403 403 403 403", "id=claim"),
    "POST /api/v1/claims/{id}/release": api("401 404 403 403 403 403 403", "id=claim"),
    "POST /api/v1/claims/{id}/return": api(
        "401 403 200 404 200 200 403", "id=claim", body={"feedback": "Le lien ne montre rien."}
    ),
    "POST /api/v1/me/invitations": api("401 422 403 403 403 403 403"),
    "POST /api/v1/missions": api("401 403 201 403 201 201 403", body=MISSION),
    "POST /api/v1/missions/{id}/claim": api("401 201 403 403 403 403 403", "id=mission"),
    "POST /api/v1/missions/{id}/close": api("401 403 200 404 200 200 403", "id=mission"),
    "POST /api/v1/missions/{id}/kit/files": api(
        "401 403 201 404 201 201 403",
        "id=mission",
        body={"name": "tract.pdf", "content_base64": PDF},
    ),
    "POST /api/v1/missions/{id}/publish": api("401 403 409 404 409 409 403", "id=mission"),
    "POST /api/v1/segments": api("401 403 403 403 422 422 403"),
    "POST /api/v1/tags": api("401 403 403 403 422 422 403"),
    "POST /api/v1/talking-points": api(
        "401 403 201 403 201 201 403",
        body={"title": "Les transports", "body": "Avec vos mots.", "team": "@team"},
    ),
    "POST /api/v1/talking-points/{id}/retire": api(
        "401 403 200 404 200 200 403", "id=talking_point"
    ),
    "POST /api/v1/talking-points/{id}/versions": api(
        "401 403 201 404 201 201 403", "id=talking_point", body={"body": "Nouvelle version."}
    ),
    "POST /api/v1/teams/{id}/join": api("401 202 403 403 403 403 403", "id=team"),
    "POST /api/v1/teams/{id}/requests/{membership}": api(
        "401 403 200 403 200 200 403", "id=team membership=request", body={"approve": False}
    ),
    "POST /api/v1/watch/sources": api("401 403 403 403 422 422 403"),
    "POST /api/v1/watch/watchlists": api("401 403 403 403 422 422 403"),
    "POST /api/v1/watch/submissions": api("401 422 403 403 403 403 403"),
    "POST /api/v1/watch/submissions/{id}/review": api(
        "401 403 422 422 422 422 403", "id=submission"
    ),
    "PUT /api/v1/contacts": api("401 403 403 403 422 422 403"),
    "PUT /api/v1/missions/{id}/kit": api("401 403 200 404 200 200 403", "id=mission"),
}
