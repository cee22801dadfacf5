"""Fixtures of the push tests: the demo's northwind, pulled and prepared, its drafts ready to push."""

from __future__ import annotations

import pytest

from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from services.intake import pull_source
from services.prepare import prepare_batch


@pytest.fixture
def prepared_app(workspace):
    """``(app, company)``: the demo wired on a fresh workspace, northwind's jobs pulled and its drafts prepared."""
    with open_app(config_path=install_demo_config(Settings().resolved_home())) as app:
        company = app.config.company("northwind")
        for source in company.sources:
            pull_source(app, company, source)
        while prepare_batch(app, run_id="test").evaluated:
            pass
        yield app, company
