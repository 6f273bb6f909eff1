"""Screens pushed over the dashboard (confirmations)."""
