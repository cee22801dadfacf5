"""The issue's own reproduction on the demo: a stranger's "signature.png" for job 1028, imported, then a run."""

from __future__ import annotations

import pytest

from closeout.settings import Settings
from closeout.wiring import open_app
from closeout.workspace import install_demo_config
from exceptions_queue.cases import CaseStatus
from flows.pipeline import closeout_pipeline
from mail_factory import mail
from services.mail.ingest import import_mail
from workorders.anomalies import AnomalyCode

pytestmark = pytest.mark.e2e


def test_a_strangers_signature_for_demo_job_1028_leaves_it_blocked_and_uninvoiced_after_import_and_run(
        prefect_api, workspace, tmp_path):
    config = install_demo_config(Settings().resolved_home())
    closeout_pipeline(config_path=str(config))
    export = tmp_path / "stranger" / "new"
    export.mkdir(parents=True)
    (export / "1.eml").write_bytes(mail(1, "WO-1028 photo", "", sender="random.stranger@x.example",
                                        attachments=(("signature.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8,
                                                      "image/png"),)))
    with open_app(config_path=config) as app:
        assert import_mail(app, export.parent, company_id="northwind").matched == 1

    closeout_pipeline(config_path=str(config))

    with open_app(config_path=config) as app, app.store.unit_of_work() as uow:
        order = next(o for o in uow.work_orders.latest(company="northwind") if o.job_number == "1028")
        pushed = uow.push_records.for_work_order(order.id)
        cases = [c for c in uow.cases.list(kinds=(AnomalyCode.rule_blocked,), statuses=(CaseStatus.open,))
                 if c.work_order_id == order.id and c.work_order_version == order.version]
        decisions = {d.rule_id: d for d in uow.decisions.for_work_order(order.id, order.version)}
    assert "signature.png" in [a.file_name for a in order.attachments]
    assert pushed == [] and len(cases) == 1
    assert decisions["sign_off_required"].outcome == "block"
    assert "sign-off from random.stranger@x.example is not from the customer or staff" in (
        decisions["sign_off_required"].reason)
