"""Closeout: field-service work orders to invoices, exactly once, with a visible exception queue."""
