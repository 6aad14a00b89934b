"""The watch's sensors: the sources it polls, the items they bring, each poll's outcome (a
source's health history), the raw responses kept as evidence, and the tracers' submissions (the
human sensors), whose links become items of one source of their own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

URL_LENGTH = 2000


class Source(models.Model):
    """A feed (RSS, Atom, JSON Feed) or a page watched for change.

        Life of a source::

            ok ──a poll fails──> failing (last_error says why) ──a poll succeeds──> ok
                                    └──failure_score reaches WATCH_DISABLE_AFTER──> disabled
            any ──HQ disables──> disabled ──HQ enables──> ok (score cleared, polled now)

    A watcher claims a due source (`next_poll_at` passed, not disabled, no live lease) by writing
    its id and a lease (`claimed_by`, `lease_until`), fetches it, and records the outcome only
    while it still holds the claim; a watcher that dies leaves a lease that runs out, and the
    source is claimed again.

    `failure_score` counts failures fractionally (essaim.watch.services.health): a lasting
    failure (DNS, 404, not a feed) adds 1, a transient one (timeout, 5xx) 0.5, a request to slow
    down (429) 0.25, and each success halves the score. A source that keeps failing is disabled
    after five lasting failures in a row (ten transient ones); one that fails every other poll
    settles below two and keeps being polled, since it still brings its items; one lucky poll
    among failures forgives only half.
    """

    class Kind(models.TextChoices):
        FEED = "feed", _("Flux")
        PAGE = "page", _("Page surveillée")
        # The one source of the installation whose items are the links tracers submitted
        # (essaim.watch.services.submissions): never polled, its items fetched one at a time.
        TRACER = "tracer", _("Signalements des traceurs")

    class Status(models.TextChoices):
        OK = "ok", _("En ordre")
        FAILING = "failing", _("En échec")
        DISABLED = "disabled", _("Désactivée")

    class MediaType(models.TextChoices):
        NONE = "", _("—")
        BLOG = "blog", _("Blog")
        NEWS = "news", _("Site d'information")
        FORUM = "forum", _("Forum")
        VIDEO = "video", _("Chaîne vidéo")
        PODCAST = "podcast", _("Podcast")
        INSTITUTION = "institution", _("Institution")
        PARTY = "party", _("Parti, candidat")
        OTHER = "other", _("Autre")

    # The address polled (the feed's, or the page's), as fetched the first time, after redirects.
    url = models.CharField(max_length=URL_LENGTH)
    # Its identity (essaim.watch.services.urls.url_key): one source per feed, however pasted.
    url_key = models.CharField(max_length=URL_LENGTH, unique=True)
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.FEED)
    title = models.CharField(max_length=300, blank=True)
    site_url = models.CharField(max_length=URL_LENGTH, blank=True)
    # The page the feed was discovered on, when it was pasted rather than the feed.
    found_on = models.CharField(max_length=URL_LENGTH, blank=True)
    # Labels the map and the stream filter by.
    camp = models.CharField(_("camp"), max_length=100, blank=True)
    party = models.CharField(_("parti"), max_length=100, blank=True)
    media_type = models.CharField(
        _("type de média"), max_length=12, choices=MediaType.choices, blank=True
    )
    zone = models.CharField(_("zone"), max_length=100, blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OK)
    # The last failure's stable code (dns_error, timeout, http_404, not_a_feed…; see
    # essaim.watch.services.health) and its detail; cleared by a success (the history keeps it).
    last_error = models.CharField(max_length=40, blank=True)
    last_error_message = models.CharField(max_length=300, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    failure_score = models.FloatField(default=0.0)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now)
    interval_seconds = models.PositiveIntegerField(default=1800)
    # When a poll last brought a new item: how long a source has been quiet sets its interval
    # (essaim.watch.services.polling.adapt_interval).
    last_new_item_at = models.DateTimeField(null=True, blank=True)
    # Conditional GET, and the hash of the last body (servers lie about ETag): for a feed the
    # bytes', for a page its visible text's.
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    body_hash = models.CharField(max_length=64, blank=True)
    # Items stored so far, kept by the watcher (F()) so that the list counts without a join.
    items_count = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Made by `essaim demo` with items written there: its address is not real (a reserved
    # `.example` host), so no watcher ever claims it.
    is_demo = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("source")
        indexes = [
            # The watchers' claim: due sources that are not disabled, oldest due first.
            models.Index(
                fields=["next_poll_at"],
                name="watch_source_due_idx",
                condition=~Q(status="disabled"),
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.url


class Match(models.TextChoices):
    """How an item joined its story (which layer of the de-duplication found it)."""

    FIRST = "first", _("Premier élément")
    URL = "url", _("Même adresse")
    TEXT = "text", _("Même texte")
    TITLE = "title", _("Même titre, même source")
    NEAR = "near", _("Texte presque identique")
    PERSON = "person", _("Rapproché par une personne")


class Item(models.Model):
    """One entry of a feed, or the one item of a watched page (updated when the page changes).
    Every text is plain text, sanitized at parse time; templates escape it again."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="items")
    url = models.CharField(max_length=URL_LENGTH, blank=True)  # "" when it has no http(s) link
    url_key = models.CharField(max_length=URL_LENGTH)  # see essaim.watch.services.feeds._item
    guid = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=500, blank=True)
    summary = models.TextField(blank=True)
    author = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)  # unknown: none, or 1970
    fetched_at = models.DateTimeField(default=timezone.now)
    language = models.CharField(max_length=20, blank=True)
    content_hash = models.CharField(max_length=64)
    evidence = models.ForeignKey(
        "Evidence", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # --- De-duplication and stories (essaim.watch.services.stories), written by the ingest. ---
    # None until the ingest has placed the item in a story (the catch-up job looks for those).
    ingested_at = models.DateTimeField(null=True, blank=True)
    story = models.ForeignKey(
        "Story", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # When the item appeared: its published date when that is believable (not after we fetched
    # it, not a 1970 placeholder), else when we fetched it. Stories order and window by it.
    seen_at = models.DateTimeField(null=True, blank=True)
    # Exact layers: sha256 of the folded text (title and summary, punctuation and the agency's
    # credit dropped) and of the folded title alone; "" when too short to mean anything.
    text_hash = models.CharField(max_length=64, blank=True)
    title_hash = models.CharField(max_length=64, blank=True)
    # The text credits a news agency ("(AFP)", "avec AFP", "PARIS (Reuters) -"…): wire copy.
    is_wire = models.BooleanField(default=False)
    # Copy rather than own coverage: wire copy, or a copy of an earlier item of its story.
    is_reprint = models.BooleanField(default=False)
    match = models.CharField(max_length=8, choices=Match.choices, blank=True)
    # The near-duplicate similarity with the item it was matched to (1.0 for exact layers).
    similarity = models.FloatField(null=True, blank=True)
    # The links in its main text (a watched page's, read by trafilatura), clean absolute URLs
    # in order: the citations the atlas maps, apart from menus and blogrolls.
    links = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("élément")
        constraints = [
            models.UniqueConstraint(fields=["source", "url_key"], name="watch_item_once_per_source")
        ]
        indexes = [
            models.Index(fields=["source", "-id"], name="watch_item_source_idx"),
            models.Index(fields=["story", "seen_at"], name="watch_item_story_idx"),
            models.Index(fields=["url_key"], name="watch_item_url_key_idx"),
            models.Index(
                fields=["text_hash"], name="watch_item_text_hash_idx", condition=~Q(text_hash="")
            ),
            models.Index(
                fields=["title_hash"], name="watch_item_title_hash_idx", condition=~Q(title_hash="")
            ),
            # The catch-up: items stored but not yet placed in a story.
            models.Index(
                fields=["id"], name="watch_item_pending_idx", condition=Q(ingested_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.url or self.url_key


class FetchLog(models.Model):
    """One poll of a source: when, how it went, what it brought (the health history)."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="fetches")
    at = models.DateTimeField(default=timezone.now)
    # ok, not_modified (304), unchanged (same hash), or the failure's code (see health.py).
    outcome = models.CharField(max_length=40)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    new_items = models.PositiveIntegerField(default=0)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("relevé")
        indexes = [
            models.Index(fields=["source", "-at"], name="watch_fetch_source_idx"),
            models.Index(fields=["at"], name="watch_fetch_at_idx"),
        ]


class Evidence(models.Model):
    """A raw response kept as a gzipped WARC record (essaim.watch.services.evidence): the feed
    document that brought items in, or a version of a watched page."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="evidence")
    url = models.CharField(max_length=URL_LENGTH)
    fetched_at = models.DateTimeField(default=timezone.now)
    http_status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField()  # bytes of the body, uncompressed
    sha256 = models.CharField(max_length=64)  # of the body
    warc = models.BinaryField()

    class Meta:
        verbose_name = _("preuve")
        verbose_name_plural = _("preuves")
        indexes = [models.Index(fields=["source", "-fetched_at"], name="watch_evidence_source_idx")]


def _submission_screenshot_path(instance: Submission, filename: str) -> str:
    return f"submissions/{instance.volunteer_id}/{filename}"


class Submission(models.Model):
    """A link a tracer (or a veilleur) reported: what they saw, where in the video, how urgent.

        Life of a submission::

            new (first report of the page) ─┐
                                            ├─a reviewer accepts─> accepted
            merged (already in the watch) ──┘─a reviewer rejects─> rejected (reason)

    Every submission of a page points to the one item of that page in the tracers' source
    (`Source.Kind.TRACER`): items keep one table, the story layer sees the tracers' reports as
    it sees the feeds', and a page reported by ten tracers is fetched once. `fetch_state` says
    how reading the page went, apart from the review: a page that could not be read is still a
    report (nothing is lost), and the tracer sees why it could not be read.

    One submission per tracer and page (`url_key`): submitting the same link again, whatever
    its tracking parameters, returns the first one.
    """

    class State(models.TextChoices):
        NEW = "new", _("Nouveau")
        MERGED = "merged", _("Déjà dans la veille")
        ACCEPTED = "accepted", _("Retenu")
        REJECTED = "rejected", _("Écarté")

    class Urgency(models.TextChoices):
        LOW = "low", _("Peut attendre")
        NORMAL = "normal", _("Normale")
        URGENT = "urgent", _("Urgent")

    class FetchState(models.TextChoices):
        PENDING = "pending", _("Lecture de la page en cours")
        DONE = "done", _("Page lue")
        FAILED = "failed", _("Page illisible")
        KNOWN = "known", _("Page déjà lue par la veille")

    volunteer = models.ForeignKey(
        "army.Volunteer", on_delete=models.CASCADE, related_name="watch_submissions"
    )
    # The address as typed, cleaned (essaim.watch.services.urls.clean_url), and its identity.
    url = models.CharField(max_length=URL_LENGTH)
    url_key = models.CharField(max_length=URL_LENGTH)
    # Where in a video or a podcast, in seconds from the start.
    time_code = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    urgency = models.CharField(max_length=6, choices=Urgency.choices, default=Urgency.NORMAL)
    # Re-encoded without metadata, as a mission's proof is (essaim.army.services.proofs).
    screenshot = models.FileField(upload_to=_submission_screenshot_path, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.NEW)
    reason = models.TextField(blank=True)  # why it was rejected, for the tracer
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="submissions")
    # Its rank among the reports of the page, 1 for the first (frozen when it is made).
    echo = models.PositiveIntegerField(default=1)
    fetch_state = models.CharField(
        max_length=7, choices=FetchState.choices, default=FetchState.PENDING
    )
    fetch_error = models.CharField(max_length=40, blank=True)  # the fetcher's code, http_404…
    fetch_message = models.CharField(max_length=300, blank=True)
    # The mission proof it was given as, when a `trace` mission was proved with it.
    proof = models.ForeignKey(
        "army.Proof",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="watch_submissions",
    )
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signalement")
        constraints = [
            models.UniqueConstraint(
                fields=["volunteer", "url_key"], name="watch_submission_once_per_tracer"
            )
        ]
        indexes = [
            models.Index(fields=["volunteer", "-id"], name="watch_sub_volunteer_idx"),
            models.Index(fields=["url_key", "id"], name="watch_sub_key_idx"),
            models.Index(fields=["state", "-id"], name="watch_sub_state_idx"),
        ]

    def __str__(self) -> str:
        return self.item.title if self.item_id and self.item.title else self.url

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.NEW, self.State.MERGED)

    @property
    def time_code_text(self) -> str:
        """The time code as people write it: 1:02:03, or 2:03 under an hour."""
        if self.time_code is None:
            return ""
        return format_time_code(self.time_code)


def format_time_code(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Story(models.Model):
    """Items about one event, grouped as they arrive (essaim.watch.services.stories): forty
    reprints of one dispatch are one story with forty echoes. The counts are kept by the ingest
    (recomputed from the items for the stories a batch touched) so that the stream lists
    stories without a join; `originals` counts own coverage, `reprints` copies (wire copy and
    copies of an earlier item)."""

    title = models.CharField(max_length=500, blank=True)
    # The earliest item, and its source: who had it first.
    first_item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    items_count = models.PositiveIntegerField(default=0)  # echoes
    sources_count = models.PositiveIntegerField(default=0)  # distinct sources
    originals_count = models.PositiveIntegerField(default=0)
    reprints_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sujet")
        indexes = [
            models.Index(fields=["-last_seen", "-id"], name="watch_story_last_seen_idx"),
            models.Index(fields=["-first_seen", "-id"], name="watch_story_first_seen_idx"),
        ]

    def __str__(self) -> str:
        return self.title or gettext("Sujet n° %(id)s") % {"id": self.pk}


class ItemBand(models.Model):
    """One band of an item's MinHash signature (essaim.watch.services.dedup): items that share a
    (band, hash) are candidates for near-duplicates. In the database rather than in a process's
    memory so that every watcher, on every machine, finds the items the others stored. Rows older
    than the stories' window are pruned: an item that old is no longer matched."""

    band = models.PositiveSmallIntegerField()
    hash = models.BigIntegerField()
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("bande MinHash")
        indexes = [
            models.Index(fields=["hash", "band"], name="watch_band_hash_idx"),
            models.Index(fields=["seen_at"], name="watch_band_seen_idx"),
        ]


class MergeSuggestion(models.Model):
    """An item that looks like the items of another story, but not enough to be merged by the
    machine (similarity between WATCH_MERGE_SUGGEST and WATCH_MERGE_AUTO, or a text too short):
    a person accepts (the item's story joins the other) or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À examiner")
        ACCEPTED = "accepted", _("Acceptée")
        REJECTED = "rejected", _("Refusée")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="merge_suggestions")
    # The story it might belong to, and the item of that story it resembles most.
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="suggestions")
    similar_item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    similarity = models.FloatField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rapprochement proposé")
        constraints = [
            models.UniqueConstraint(fields=["item", "story"], name="watch_suggestion_once")
        ]
        indexes = [
            models.Index(
                fields=["-created_at"],
                name="watch_suggestion_pending_idx",
                condition=Q(status="pending"),
            )
        ]


class Watchlist(models.Model):
    """Names or topics HQ watches for, as a query (essaim.watch.services.watchlists.query).

    Names (candidates, opponents, party figures) are matched word for word, folded (case,
    accents, elisions) but never stemmed: "Le Pen" is not "pen"; topics are matched on French
    stems: "élections" finds "élection" and "election".
    """

    class Kind(models.TextChoices):
        NAMES = "names", _("Noms")
        TOPICS = "topics", _("Thèmes")

    name = models.CharField(_("nom"), max_length=150)
    kind = models.CharField(_("type"), max_length=6, choices=Kind.choices, default=Kind.TOPICS)
    query = models.TextField(_("requête"), max_length=2000)
    active = models.BooleanField(_("active"), default=True)
    # Free labels (a campaign, a person, a theme) that the stream and the alerts filter by.
    labels = models.JSONField(_("étiquettes"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Changed by every edit: the matchers' cache of automata is keyed on it.
    updated_at = models.DateTimeField(default=timezone.now)
    # When the last backfill over recent items finished (None: queued or running).
    backfilled_at = models.DateTimeField(null=True, blank=True)
    # The items the last backfill matched so far, then in all: its page shows the review's
    # progress. None: backfilled before the count was kept.
    backfill_matches = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("liste de veille")
        verbose_name_plural = _("listes de veille")

    def __str__(self) -> str:
        return self.name


class WatchlistMatch(models.Model):
    """An item that a watchlist's query matched, and the terms found in it."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="matches")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="watchlist_matches")
    terms = models.JSONField(default=list)
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("correspondance")
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "item"], name="watch_match_once")
        ]
        indexes = [
            models.Index(fields=["watchlist", "-item"], name="watch_match_list_idx"),
            models.Index(fields=["item"], name="watch_match_item_idx"),
        ]


class StoryMission(models.Model):
    """A mission opened from a story (Respond): the story page lists its missions and their
    accepted proofs. The army knows nothing of stories; the link lives here, above it."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="missions")
    mission = models.OneToOneField(
        "army.Mission", on_delete=models.CASCADE, related_name="watch_story"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("mission d'un sujet")
        indexes = [models.Index(fields=["story", "-created_at"], name="watch_storymission_idx")]


class Synthesis(models.Model):
    """The daily synthesis of one day's stories: a draft made each morning (its `body`, the
    figures and excerpts as structured JSON), edited and published by a synthesis writer."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        PUBLISHED = "published", _("Publiée")

    date = models.DateField(_("jour"), unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    body = models.JSONField(default=dict, blank=True)
    intro = models.TextField(_("introduction"), blank=True, max_length=10_000)
    notes = models.TextField(_("notes"), blank=True, max_length=20_000)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("synthèse")
        verbose_name_plural = _("synthèses")
        ordering = ["-date"]

    def __str__(self) -> str:
        from django.utils import formats

        return gettext("Synthèse du %(date)s") % {"date": formats.date_format(self.date, "j F Y")}


class SynthesisSubscription(models.Model):
    """A person who asked to receive the published syntheses by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="synthesis_subscription"
    )
    created_at = models.DateTimeField(default=timezone.now)


class SynthesisDelivery(models.Model):
    """One synthesis mailed to one person: written in the transaction that decides to send,
    so that no one gets the same synthesis twice."""

    synthesis = models.ForeignKey(Synthesis, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["synthesis", "user"], name="watch_synthesis_once")
        ]


class TriageState(models.TextChoices):
    NEW = "new", _("À trier")
    PERTINENT = "pertinent", _("Pertinent")
    NOT_PERTINENT = "not_pertinent", _("Non pertinent")
    URGENT = "urgent", _("Urgent")
    ASSIGNED = "assigned", _("Confié")


class StoryTriage(models.Model):
    """Where a story stands in the veilleurs' triage (essaim.watch.services.triage), beside the
    story rather than on it so that the ingest's updates of the counts never touch it.

    A person takes a story (`locked_by` until `locked_until`) so that two people do not work it
    at once; the lock is taken and the decision written by conditional UPDATEs, and a lock that
    runs out frees the story again. A story without a row is new."""

    story = models.OneToOneField(
        Story, primary_key=True, on_delete=models.CASCADE, related_name="triage"
    )
    state = models.CharField(max_length=16, choices=TriageState.choices, default=TriageState.NEW)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tri d'un sujet")
        indexes = [models.Index(fields=["state"], name="watch_triage_state_idx")]


class TriageDecision(models.Model):
    """One decision on a story, kept for good: who decided what, when, and why (the note)."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="triage_decisions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=TriageState.choices)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("décision de tri")
        verbose_name_plural = _("décisions de tri")
        indexes = [models.Index(fields=["story", "-created_at"], name="watch_triage_story_idx")]


class Alert(models.Model):
    """Something HQ should look at now (essaim.watch.services.alerts): a story marked urgent
    (one alert per story, never two) or a spike of a watchlist. `explanation` says why: the
    stories, their first sources, the top terms and, for a spike, the counts against the
    baseline."""

    class Kind(models.TextChoices):
        URGENT = "urgent", _("Urgent")
        SPIKE = "spike", _("Pic")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    story = models.ForeignKey(
        Story, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    watchlist = models.ForeignKey(
        Watchlist, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    title = models.CharField(max_length=500)
    explanation = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("alerte")
        constraints = [
            models.UniqueConstraint(
                fields=["story"], condition=Q(kind="urgent"), name="watch_alert_urgent_once"
            )
        ]
        indexes = [
            models.Index(fields=["watchlist", "kind", "-created_at"], name="watch_alert_list_idx")
        ]

    def __str__(self) -> str:
        return self.title


class AlertEmail(models.Model):
    """One alert mailed to one person (essaim.watch.services.alerts.mail_alert): written in the
    alert's transaction, sent after the commit by a task, over one connection for all.

        pending ──the task claims it──> sending ──> sent
                                           ├──> failed (a bad address, a refusal: `error`)
                                           └──> withheld (no longer allowed to see the alerts)

    A row is claimed (a conditional UPDATE) before its message leaves: a task run twice never
    sends it twice, and one that died while sending leaves it `sending`, lost rather than sent
    twice. A row still pending is sent by the next run of the task."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        SENDING = "sending", _("En cours d'envoi")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Échec")
        WITHHELD = "withheld", _("Retenu : plus autorisé à voir les alertes")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="emails")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alerte par courriel")
        verbose_name_plural = _("alertes par courriel")
        constraints = [
            models.UniqueConstraint(fields=["alert", "user"], name="watch_alert_email_once")
        ]


class AlertPreference(models.Model):
    """Which alerts a person receives, and how. Without a row, HQ gets every alert in the app
    and nobody else gets any (essaim.watch.services.alerts.recipients)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="watch_alert_preference",
    )
    urgent = models.BooleanField(_("sujets urgents"), default=True)
    spike = models.BooleanField(_("pics des listes de veille"), default=True)
    in_app = models.BooleanField(_("dans l'application"), default=True)
    email = models.BooleanField(_("par courriel"), default=False)

    class Meta:
        verbose_name = _("préférence d'alertes")


class WebhookEndpoint(models.Model):
    """A URL HQ gives to receive the alerts as signed JSON (essaim.watch.services.webhooks)."""

    url = models.URLField(_("adresse"), max_length=URL_LENGTH)
    # Shared with the receiver, who checks X-Essaim-Signature with it.
    secret = models.CharField(_("secret"), max_length=200)
    active = models.BooleanField(_("actif"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("point d'accès webhook")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One alert to one endpoint: tried at once, then again later on failure (backoff), until
    delivered or given up."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("envoi webhook")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "alert"], name="watch_webhook_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="watch_webhook_due_idx",
                condition=Q(delivered_at__isnull=True),
            )
        ]
