"""What fieldwork tells the rest of Genchi, without importing it (the planner listens)."""

from django.dispatch import Signal

# Sent after a visit's result is saved (office form or tablet, `services.record_visit`),
# and when the office sends a case back for another visit (`services.review_case`), once
# the transaction has committed. Arguments: case (fieldwork.SurveyCase), visited_at (aware
# datetime of the visit; the latest visit's on a send-back), needs_revisit (bool), by
# (user). The planner re-plans the surveyor's remaining days on it.
visit_result_recorded = Signal()
