"""The local ledger sandbox: an imitation of the QuickBooks Online and Xero endpoints Closeout calls."""
