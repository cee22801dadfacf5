"""`closeout cutover` on the demo: wrong input is one line and exit 2; jobs Closeout invoiced are never touched."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.mark.parametrize(("args", "said"), [
    (("--company", "nope", "--invoiced-before", "2026-11-05"), "no company 'nope' in the config"),
    (("--company", "northwind"), "say which jobs were invoiced elsewhere"),
    (("--company", "northwind", "--jobs", "/nonexistent/jobs.csv"), "cannot read /nonexistent/jobs.csv"),
])
def test_a_cutover_asked_wrongly_is_refused_in_one_line_with_exit_code_two_and_records_nothing(closeout, args, said):
    ran = closeout("cutover", *args)
    assert ran.exit_code == 2, ran.output
    errors = [line for line in ran.lines if line.startswith("error:")]
    assert len(errors) == 1 and said in errors[0] and "Traceback" not in ran.output
    engine = sa.create_engine(closeout.store_url())
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from cutovers")).scalar_one() == 0
    engine.dispose()


def test_a_date_that_is_not_a_date_is_refused_naming_the_form_wanted(closeout):
    ran = closeout("cutover", "--company", "northwind", "--invoiced-before", "5/11/2026")
    assert ran.exit_code == 2 and "is not a date like 2026-11-01" in ran.output


def test_a_cutover_after_closeout_invoiced_the_jobs_changes_none_of_them_and_the_audit_still_holds(closeout, tmp_path):
    listed = tmp_path / "by-hand.csv"
    listed.write_text("job_number\n1001\n1002\n", encoding="utf-8")
    ran = closeout("cutover", "--company", "northwind", "--invoiced-before", "2026-12-31", "--jobs", str(listed))
    assert ran.exit_code == 0, ran.output
    assert "Recorded for northwind: jobs completed before 2026-12-31 (America/Chicago) and 2 listed job(s)" in ran.output
    engine = sa.create_engine(closeout.store_url())
    with engine.connect() as connection:
        pushed = connection.execute(sa.text("select count(*) from push_records where status = 'pushed' "
                                            "and company = 'northwind'")).scalar_one()
        withdrawn = connection.execute(sa.text("select count(*) from push_records where status = 'superseded' "
                                               "and last_error like 'invoiced elsewhere%'")).scalar_one()
    engine.dispose()
    assert pushed > 0 and withdrawn == 0  # an invoice Closeout sent is Closeout's, whatever a cutover says
    assert closeout("audit").exit_code == 0
