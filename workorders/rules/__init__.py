"""The rules engine: pure, deterministic checks that decide whether a work order version may be invoiced.

    evaluate(order, settings, run_id=...) -> Evaluation(verdict, decisions, anomalies)

Each rule lives in ``billing.py`` with a stable snake_case id, a version and one line of why it exists.
"""

from workorders.rules._engine import Evaluation, Verdict, evaluate, run_check
from workorders.rules._model import Check, Rule, RuleSettings, blocked, no_invoice, passed, rule
from workorders.rules.billing import DEFAULT_RULES

__all__ = [
    "DEFAULT_RULES", "Check", "Evaluation", "Rule", "RuleSettings", "Verdict",
    "blocked", "evaluate", "no_invoice", "passed", "rule", "run_check",
]
