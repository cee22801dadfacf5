"""The memory benchmark (scenario 6) at tiny size: two runs in their own processes, each RSS reported."""

from bench.scenario_memory import SIZES, run


def test_the_tiny_memory_benchmark_reports_the_peak_rss_of_both_sizes():
    small, large, wall = run("tiny")
    assert small.unit == large.unit == "MiB" and small.value > 0 and large.value > 0
    assert large.reference == small.value and large.ratio == large.value / small.value
    assert f"{SIZES['tiny'][1]:,}" in large.measure and wall.unit == "s"
