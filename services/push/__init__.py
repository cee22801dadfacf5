"""Pushing drafts to a ledger exactly once: claim, look up the uncertain, send alone or in batches, attach evidence."""
