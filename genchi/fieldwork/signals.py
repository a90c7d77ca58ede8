"""What fieldwork tells the rest of Genchi, without importing it (the planner listens)."""

from django.dispatch import Signal

# Sent after a visit's result is saved (office form or tablet), once the transaction has
# committed. Arguments: case (fieldwork.SurveyCase), needs_revisit (bool), by (user).
# The planner re-plans the surveyor's remaining days on it.
visit_result_recorded = Signal()
