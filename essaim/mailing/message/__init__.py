"""Campaign messages compiled once, then assembled per recipient from byte chunks.

Three jobs, a module each:
- template: the personalization a campaign's text may use (a whitelist of slots);
- builder: the campaign compiled into encoded byte chunks and slots, and a message per
  recipient assembled from them (CompiledMessage);
- signing: the signed codes every message carries (unsubscribe token, VERP tag), on the keyed
  hashes of essaim.lib.signing.

What other modules use is imported from here. The three modules run from their mypyc build
(scripts/compile-hot-modules, essaim.lib.compiled): the sender builds every message with them.
"""

from essaim.lib.compiled import use_compiled

use_compiled(__name__, __path__)

# After use_compiled: the compiled builds of these modules are the ones imported.
from essaim.mailing.message.builder import (  # noqa: E402
    UNSUBSCRIBE_URLCONF,
    CompiledMessage,
    Recipient,
    UnmailableAddress,
    ascii_address,
    frame_data,
)
from essaim.mailing.message.signing import UnsubscribeSigner, VerpSigner  # noqa: E402
from essaim.mailing.message.template import (  # noqa: E402
    FIELDS,
    LINK_FIELDS,
    SLOT_RE,
    TemplateError,
    parse_subject,
    parse_template,
    slot_names,
)

__all__ = [
    "FIELDS",
    "LINK_FIELDS",
    "SLOT_RE",
    "UNSUBSCRIBE_URLCONF",
    "CompiledMessage",
    "Recipient",
    "TemplateError",
    "UnmailableAddress",
    "UnsubscribeSigner",
    "VerpSigner",
    "ascii_address",
    "frame_data",
    "parse_subject",
    "parse_template",
    "slot_names",
]
