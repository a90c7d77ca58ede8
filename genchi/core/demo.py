"""The demo installation is built by steps that each app registers in its ready().

`genchi demo` runs every registered step once per data folder, in the order of their
`order` numbers (parties first, then the target list, then the handover round trip),
each in its own transaction (unless the step commits on its own, `atomic=False`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[[], None]
    order: int
    # A step that commits on its own (an erasure: it compacts the database and rotates
    # the master key, which must be the outermost transaction) runs outside one.
    atomic: bool = True


_steps: dict[str, DemoStep] = {}


def register_demo_step(
    name: str, run: Callable[[], None], *, order: int, atomic: bool = True
) -> None:
    """Register a step (from an app's ready()); the same name twice is a programming error."""
    existing = _steps.get(name)
    if existing is not None and existing.run is not run:
        raise RuntimeError(f"a demo step named {name!r} is already registered")
    _steps[name] = DemoStep(name, run, order, atomic)


def demo_steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda step: (step.order, step.name))


def prepare_demo(is_prepared: Callable[[], bool], write: Callable[[str], None] = print) -> bool:
    """Run every step on an installation that has no demo data yet. Returns False (and
    does nothing) if `is_prepared()` says the demo data is already there."""
    if is_prepared():
        write("デモデータは準備済みです。")
        return False
    for step in demo_steps():
        if step.atomic:
            with transaction.atomic():
                step.run()
        else:
            step.run()
        write(f"デモデータ: {step.name} を作成しました。")
    return True
