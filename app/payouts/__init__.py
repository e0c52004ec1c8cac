"""Payouts: a contractor's available balance leaving Pactline for their bank, through the provider."""
