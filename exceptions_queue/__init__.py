"""The exception queue: cases, decisions and their audit trail."""
