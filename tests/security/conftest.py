"""Fixtures of the security tests: the queue site (see security_site.py), one per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from closeout.credentials.web_connect import WorkspaceConnections
from services.casework import StoreDesk
from closeout.settings import Settings
from services.intake import pull_source
from services.prepare import prepare_batch
from services.users import add_user, create_token
from closeout.wiring import open_app
from exceptions_queue.web import create_app
from exceptions_queue.web.signin import SignInThrottle
from security_site import PASSWORD, ROLES, Site, hostile, hostile_cases, sign_in, site_config


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("security-site")
    settings = Settings(home=root / "workspace", database_url=None, config=None)
    with open_app(settings=settings, config_path=site_config(root)) as app:
        for company in app.companies():
            for source in company.sources:
                pull_source(app, company, source)
        while prepare_batch(app, run_id="security").evaluated:
            pass
        for name, role in ROLES.items():
            add_user(app.store, name, role, PASSWORD, actor="test")
        tokens = {name: create_token(app.store, name, label="test", actor="test") for name in ROLES}
        cases = hostile_cases(app)
        desk = StoreDesk(app)
        for case_id in cases.values():
            desk.decide(case_id, "comment", actor=desk.user("dana"), fields={"note": hostile("comment")})
            desk.decide(case_id, "tag", actor=desk.user("dana"), fields={"tag": hostile("tag")})
        web = create_app(desk, secret_key="security-test-key", throttle=SignInThrottle(per_user=1000, per_ip=1000),
                         connections=WorkspaceConnections(app))
        built = Site(app=app, web=web, cases=cases, tokens=tokens)
        for name in ROLES:
            with TestClient(web, follow_redirects=False) as client:
                assert sign_in(client, name).status_code == 303
                built.sessions[name] = dict(client.cookies)
        yield built
