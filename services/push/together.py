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
from workorders.push import PushRecord

BATCH_SIZES = {"quickbooks": 30, "xero": 50}
"""How many records a backlog worker claims at once: one batch request's worth (the ledgers' ``max_batch``)."""


def independent_chunks(prepared: Sequence[tuple[PushRecord, dict]], *, size: int) -> list[list[tuple[PushRecord, dict]]]:
    """Ledger-sized requests in which no item depends on another: two drafts with one doc number never share
    a request. QBO neither orders nor isolates the items of a batch (each item "is executed independently",
    with no order promised: Intuit's batch reference), so which of the two wins would be chance; in separate
    requests the second is refused as a duplicate and looked up like any other. Customers are resolved before
    anything is sent, so no item ever waits for a customer another item creates. Order is kept otherwise.
    """
    chunks: list[list[tuple[PushRecord, dict]]] = []
    for item in prepared:
        doc = item[0].doc_number
        for chunk in chunks:
            if len(chunk) < size and all(other.doc_number != doc for other, _ in chunk):
                chunk.append(item)
                break
        else:
            chunks.append([item])
    return chunks


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
    chunks = independent_chunks(prepared, size=pusher.ledger.max_batch)
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
                           else PushOutcome.created(result))
            except ConnectorError as exc:  # the look-up after a duplicate number failed: it may be ours
                save_outcomes(app, outcomes, counts)
                give_up(app, [rest for rest, _ in chunk[position:]],
                        [record for later in chunks[number + 1:] for record, _ in later], str(exc), counts)
                raise
            outcomes.append((record, outcome))
        save_outcomes(app, outcomes, counts)  # one transaction for the request's answers
