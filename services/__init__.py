"""The use cases: intake, prepare, push, mail, casework, replay, reconcile, audit, health, explain, preview."""
