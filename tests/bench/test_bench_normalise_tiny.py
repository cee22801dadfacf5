"""The normalisation benchmark (scenario 3) at tiny size: it runs end to end and loses no work order."""

from bench.normalise_run import normalise_in_subprocess
from bench.scenario_normalise import SIZES, run


def test_the_tiny_normalisation_benchmark_reports_its_rate_against_the_floor_measured_beside_it(prefect_api):
    measures = run("tiny")
    assert [m.scenario for m in measures] == ["normalisation"] * 8
    assert all(m.value >= 0 and m.unit for m in measures)
    floor, versus_floor, per_cpu, absolute = measures[:4]
    assert floor.value > 0 and versus_floor.reference == floor.value
    assert versus_floor.ratio == versus_floor.value / floor.value and versus_floor.met in (True, False)
    assert per_cpu.reference > 0 and per_cpu.ratio == per_cpu.value / per_cpu.reference
    assert absolute.reference == 2000 and absolute.met in (True, False)
    assert measures[-1].unit == "%" and measures[-1].met in (True, False)


def test_every_pulled_job_of_the_tiny_run_ends_in_a_draft_or_a_case():
    result = normalise_in_subprocess(SIZES["tiny"])
    assert result["pulled"] == result["evaluated"] == SIZES["tiny"]
    assert result["drafts"] + result["cases"] == SIZES["tiny"] and result["drafts"] > 0
