"""The `closeout` command. The apps and shared helpers live in ``closeout.cli.base``; importing each command
module below registers its commands on them, in the order ``closeout --help`` lists them."""

# isort: off  (the order is the order of the help)
from closeout.cli import (  # noqa: F401  (imported to register their commands)
    runs,  # demo, run, audit, sandbox, mail import, cases list|show
    queue_commands,  # cases assign|start|resolve|ignore|reopen|tag|comment|replay|add_mapping|fix_price|link_email, users
    corrections,  # cases correct|apply_correction|apply_as_credit|keep_invoice, demo-corrections
    sources,  # doctor, replay, webhooks, fake-jobber
    ledgers,  # reconcile
    privacy,  # retention, erase
    rules,  # rules, explain, preview
    operations,  # setup, health
    connect,  # connect, disconnect
    cutover,  # cutover
    orchestration,  # serve, dashboard
    notify,  # notify send|digest|list
)
# isort: on
from closeout.cli.base import app

__all__ = ["app"]
