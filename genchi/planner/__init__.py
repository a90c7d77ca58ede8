"""The Django side of the planner: surveyors' bases, the area proposal and the campaign
plan of a contract, its pages and the `genchi plan` command.

The planning itself is the Django-free library `genchi.planning`; this app stores what the
office decides and calls the library.
"""
