"""Prefect flows and tasks: orchestration only."""
