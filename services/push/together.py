"""Push many drafts in one ledger request (QBO batch of 30, Xero up to 50 a PUT), each item with its own outcome.

The same exactly-once steps as one-by-one: every record is looked up first when an earlier attempt may
have landed, customers are resolved before anything is sent, and a request whose answer is lost leaves
all its records ``uncertain`` (each is looked up by doc number before it is ever sent again).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.counts import StepCounts
from services.push.pusher import Pusher, PushOutcome, give_up, save_outcome, save_outcomes
from services.runtime import Runtime
from connectors.errors import ConnectorError, RejectedError
from workorders.push import PushRecord, PushStatus

BATCH_SIZES = {"quickbooks": 30, "xero": 50}
"""How many records a backlog worker claims at once: one batch request's worth (the ledgers' ``max_batch``)."""


def push_together(app: Runtime, pusher: Pusher, records: Sequence[PushRecord], counts: StepCounts) -> None:
    """Prepare every record, then send the payloads in ledger-sized requests; re-raise a request's failure
    after saving every record's state (sent ones ``uncertain``, unsent ones ``ready``)."""
    prepared: list[tuple[PushRecord, dict]] = []
    try:
        pusher.look_up_ahead(records)
    except ConnectorError as exc:
        give_up(app, [], records, str(exc), counts)
        raise
    for index, record in enumerate(records):
        try:
            payload = pusher.prepare(record)
        except ConnectorError as exc:
            give_up(app, [], [record, *(r for r, _ in prepared), *records[index + 1:]], str(exc), counts)
            raise
        if isinstance(payload, PushOutcome):
            save_outcome(app, record, payload, counts)
        else:
            prepared.append((record, payload))
    size = pusher.ledger.max_batch  # the ledger's own bound on one create_invoices call
    chunks = [prepared[start:start + size] for start in range(0, len(prepared), size)]
    for number, chunk in enumerate(chunks):
        try:
            results = pusher.ledger.create_invoices([(payload, record.draft.request_key()) for record, payload in chunk])
        except ConnectorError as exc:
            give_up(app, [record for record, _ in chunk],
                    [record for later in chunks[number + 1:] for record, _ in later], str(exc), counts)
            raise
        outcomes: list[tuple[PushRecord, PushOutcome]] = []
        for position, ((record, _), result) in enumerate(zip(chunk, results, strict=True)):
            try:
                outcome = (pusher.refused(record, result) if isinstance(result, RejectedError)
                           else PushOutcome(status=PushStatus.pushed, ledger_id=result.ledger_id))
            except ConnectorError as exc:  # the look-up after a duplicate number failed: it may be ours
                save_outcomes(app, outcomes, counts)
                give_up(app, [rest for rest, _ in chunk[position:]],
                        [record for later in chunks[number + 1:] for record, _ in later], str(exc), counts)
                raise
            outcomes.append((record, outcome))
        save_outcomes(app, outcomes, counts)  # one transaction for the request's answers
