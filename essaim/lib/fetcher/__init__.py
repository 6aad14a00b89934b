"""The guarded fetcher: every outbound fetch of a URL that comes from a user or a feed goes
through it (house rule 5 of ARCHITECTURE.md; docs/architecture.md, "The guarded fetcher").

    async with GuardedClient(FetchPolicy.from_settings()) as client:
        result = await client.fetch(url, headers={"If-None-Match": etag})
    result = fetch_sync(url)  # from a view

Any HTTP status is a FetchResult; a refusal or a network failure is a FetchError with a code.
"""

from essaim.lib.fetcher.addresses import check_url, refusal_reason
from essaim.lib.fetcher.client import GuardedClient, GuardedResolver, fetch, fetch_sync
from essaim.lib.fetcher.errors import ERROR_LABELS, FetchError
from essaim.lib.fetcher.policy import FetchPolicy, default_user_agent
from essaim.lib.fetcher.result import FetchResult, Redirect

__all__ = [
    "ERROR_LABELS",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "GuardedClient",
    "GuardedResolver",
    "Redirect",
    "check_url",
    "default_user_agent",
    "fetch",
    "fetch_sync",
    "refusal_reason",
]
