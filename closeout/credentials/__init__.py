"""Credentials in one place: the Prefect credential blocks, the one secret lookup, and the token vaults.

Modules: ``blocks`` (the block types and the one ``<company>-<name>`` naming function), ``lookup``
(``read_secret``: block, environment, Secret block), ``vaults`` (where a token pair lives: a block or a 0600
file), ``token_store`` (the refreshing token provider, its lock and client), ``ledger_tokens`` and ``mailbox_tokens``
(the ledgers' and the mailboxes' providers built on it). Secrets never reach logs, cases or errors.
"""
