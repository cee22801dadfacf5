"""The rules engine: pure, deterministic checks that decide whether a work order version may be invoiced.

    evaluate(order, settings, run_id=..., context=RuleContext(...)) -> Evaluation(verdict, decisions, order, anomalies)

Each rule has a stable snake_case id, a version and one line of why it exists; the default set is
``DEFAULT_RULES`` (``billing.py``), configured per company by ``RuleSettings``.
"""

from workorders.rules._engine import Evaluation, Verdict, evaluate, run_check
from workorders.rules._model import (
    NO_CONTEXT, Check, Cutover, InvoicedVersion, Rule, RuleContext, blocked, no_invoice, passed, rule, transformed, warned,
)
from workorders.rules._settings import LabourRates, LabourSettings, RuleSection, RuleSettings, rule_ids
from workorders.rules.billing import DEFAULT_RULES

__all__ = [
    "DEFAULT_RULES", "NO_CONTEXT", "Check", "Cutover", "Evaluation", "InvoicedVersion", "LabourRates", "LabourSettings", "Rule",
    "RuleContext", "RuleSection", "RuleSettings", "Verdict", "blocked", "evaluate", "no_invoice", "passed", "rule",
    "rule_ids", "run_check", "transformed", "warned",
]
