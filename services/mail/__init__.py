"""Mail ingest: read mailboxes, keep raw messages and attachments, match them to jobs, watch mailbox health."""
