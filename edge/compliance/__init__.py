"""Compliance officers' side of the edge: who holds the role (folded from the accounts
topic), the audit every action goes through, and the replay and legal export of history.

docs/compliance.md is the design; `service.py` is the one door every compliance action
passes (role check, then the audit record before the action and its outcome after).
"""
