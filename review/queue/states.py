"""The review queue's vocabulary: item states, decisions and reasons, limits, its error, and time in UTC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from errors import UserError

LEASE = timedelta(minutes=5)  # long enough to look closely; short enough that a closed tab frees the item soon
OPEN_STATES = ("pending", "claimed", "escalated")
FINAL_STATES = ("approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected", "escalate": "escalated"}
DECISION_REASONS = ("no_issue", "false_positive", "licensed_or_own_work", "public_domain", "copyright", "sexual",
                    "violence", "hate", "pii", "political", "self_harm", "illegal", "other")
MAX_NOTE_CHARS = 200_000
MAX_APPEAL_CHARS = 500  # a sentence or two
APPEAL_PRIORITY = 10  # an appeal waits less than fresh items
UNDO_WINDOW = timedelta(seconds=60)  # a slip of the key can be taken back this long; then the decision is final
DEFAULT_REASON = {"approve": "no_issue", "escalate": "other"}  # a reject always needs a chosen reason
PAGE_SIZE = 50
EXPIRY_SWEEP = timedelta(seconds=1)  # "next" returns lapsed claims to the queue at most this often (any process)



class QueueError(UserError):
    pass



def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def tags_for(reasons: list[str], verdicts) -> str:
    """The filter tags stored with an item: "|reason:x|label:y|cat:z|"."""
    tags = [f"reason:{r}" for r in reasons]
    for v in verdicts:
        if v.label.value != "Safe":
            tags.append(f"label:{v.label.value}")
            tags += [f"cat:{c}" for c in v.categories]
    tags = list(dict.fromkeys(tags))
    return "|" + "|".join(tags) + ("|" if tags else "")
