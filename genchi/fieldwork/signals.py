"""What fieldwork tells the rest of Genchi, without importing it (the planner listens)."""

from django.dispatch import Signal

# Sent when a visit's result is saved (office form or tablet, `services.record_visit`),
# and when the office sends a case back for another visit (`services.review_case`: then
# visited_at is the latest visit's), INSIDE the transaction that saves it: a receiver's
# writes commit or roll back with the result, and a receiver defers anything slow to the
# commit (`transaction.on_commit`) or to a background task. Keyword arguments, all required:
#   case          fieldwork.SurveyCase whose visit it was
#   visited_at    aware datetime the visit was made (its local date and time are recorded)
#   needs_revisit bool: True when the case needs another visit (nobody at home, to be
#                 confirmed at another time), False when the result settles it
#   by            the user who recorded the result (accounts.User), or None
# The planner (genchi.planner.receivers) keeps the result waiting and, after the commit,
# applies it to the current plan in the background, re-planning that surveyor's days.
visit_result_recorded = Signal()
