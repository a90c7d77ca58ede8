"""Demo step (order 100): a small contract of the previous fiscal year run to its end."""

from __future__ import annotations


def demo_step() -> None:
    from .demo_chain import close_previous_year_contract

    close_previous_year_contract()
