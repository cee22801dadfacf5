"""The pure core: records, rules and ports. No I/O."""
