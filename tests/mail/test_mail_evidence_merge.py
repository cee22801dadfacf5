"""Merging mail evidence into a work order is linear in the pieces: a list-membership merge made 10 messages of 5,000
attachments run for minutes at full CPU with nothing committed (issue 19). Counted in comparisons, not timed."""

from __future__ import annotations

from mail_factory import work_order
from mappings.mail_evidence import MailEvidence, with_evidence
from workorders.work_order import Attachment, AttachmentKind


def test_merging_ten_messages_of_many_attachments_compares_each_piece_a_bounded_number_of_times(monkeypatch):
    per_message, messages = 1_500, 10
    pieces = [[Attachment(content_hash=f"{m:02d}{n:05d}", file_name=f"p{n}.png", kind=AttachmentKind.photo)
               for n in range(per_message)] for m in range(messages)]
    repeated = pieces + [pieces[0]]  # the first message read again brings nothing new
    compared = 0
    equal = Attachment.__eq__

    def counted(self, other):
        nonlocal compared
        compared += 1
        return equal(self, other)

    monkeypatch.setattr(Attachment, "__eq__", counted)

    merged = with_evidence(work_order("1042", email="facilities@harbor.example"), [MailEvidence(attachments=tuple(p)) for p in repeated])

    assert [a.content_hash for a in merged.attachments] == [a.content_hash for p in pieces for a in p]
    assert compared <= 2 * per_message * len(repeated)  # a membership scan would compare ~11 million times
