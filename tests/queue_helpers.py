"""Fill a queue quickly: real rows through the real models, without running edits."""
from datetime import datetime, timedelta, timezone

from db.engine import run_write
from db.models import EditRecord, ReviewItem, VerdictRecord, new_id
from review.guard.base import Verdict
from review.guard.labels import Label
from review.queue.states import tags_for


def enqueue(factory, n: int, *, label: str = "Controversial", category: str = "PII", priority: int = 1,
            age: timedelta = timedelta(0), reasons=("instruction:controversial",)) -> list[int]:
    verdict = Verdict(Label(label), (category,))
    created = datetime.now(timezone.utc) - age

    def work(s):
        items = []
        for _ in range(n):
            rid = new_id()
            s.add(EditRecord(id=rid, instruction="make it sepia", backend="classic", model_id="m", model_license="l",
                              policy_mode="review", decision="pending_review", decision_reasons=list(reasons),
                              requester="browser:test", created_at=created))
            s.add(VerdictRecord(request_id=rid, target="instruction", guard="rules", label=label, categories=[category],
                          evidence=[{"rule": "r", "category": category, "label": label, "span": "x"}]))
            item = ReviewItem(request_id=rid, reasons=list(reasons), tags=tags_for(list(reasons), [verdict]),
                              priority=priority, created_at=created)
            s.add(item)
            items.append(item)
        s.flush()
        return [i.id for i in items]

    return run_write(factory, work)
