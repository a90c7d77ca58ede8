"""What fieldwork tells the rest of Genchi, without importing it (the planner listens)."""

from django.dispatch import Signal

# Sent after a visit's result is saved (office form or tablet, `services.record_visit`),
# and when the office sends a case back for another visit (`services.review_case`: then
# visited_at is the latest visit's), once the transaction has committed
# (`transaction.on_commit`). Keyword arguments, all required:
#   case          fieldwork.SurveyCase whose visit it was
#   visited_at    aware datetime the visit was made (its local date and time are recorded)
#   needs_revisit bool: True when the case needs another visit (nobody at home, to be
#                 confirmed at another time), False when the result settles it
#   by            the user who recorded the result (accounts.User), or None
# The planner (genchi.planner.receivers) records the visit in the current plan and
# re-plans that surveyor's remaining days from the next day on.
visit_result_recorded = Signal()
