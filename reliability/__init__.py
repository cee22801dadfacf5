"""The fault campaign (make reliability): a generated workload, faults in every dependency, then the audit."""
