"""The Django side of the planner: the `genchi plan` command.

The planning itself is the Django-free library `genchi.planning`; this app only makes
its command reachable through Genchi's command runner (Django's management commands).
"""
