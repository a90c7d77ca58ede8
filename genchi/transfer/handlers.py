"""Package kinds and the apps that own what they carry (D10).

`transfer` moves sealed bytes: it writes, verifies and records packages, slips and sticks,
but knows no domain model. What a package *holds* belongs to the app that owns that part
of the domain, which registers a handler for the kind in its `AppConfig.ready()`:

- on the sending side an `OutgoingSource`: what can be sent now (the ward's sealed
  batches, for `cases`), the records of one item, and what becomes of the item once its
  package is recorded (the batch is handed over);
- on the receiving side a `Receiver`: it stores the verified records of a package inside
  the import's transaction (`cases` → fieldwork's received cases; `results` → the ward's
  results; `certificate` → closure), so a refusal anywhere stores nothing.

A kind both sides send (`incident`) has the side "either": each item then names the side
sending it (`Sendable.side`), and the receiving side is that of the person importing it
(or the one the command names).

A kind without a registered handler is refused with the code `no_handler`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from genchi.package_format import PackageContents
    from genchi.parties.models import Contract

    from .models import Package


@dataclass(frozen=True)
class Sendable:
    """One item ready to be sent, as transfer sees it: no personal data."""

    key: int  # the owning app's id of the item (e.g. a batch's primary key)
    contract: Contract
    code: str  # travels in the manifest's `batch` field and on the slip, e.g. "B3"
    label: str  # how menus and messages name it
    record_count: int
    ready_at: datetime | None = None  # since when it may be sent (e.g. sealed at)
    side: str | None = None  # the sending side, for a source whose side is "either"


class OutgoingSource(Protocol):
    """What the sending side's owner of a kind provides."""

    kind: str
    side: str  # "ward", "contractor" or "either": the organisation of the contract that sends it

    def sendable(self, contracts: Any) -> list[Sendable]:
        """The items of these contracts (a queryset) that may be sent now."""

    def get(self, key: int) -> Sendable | None:
        """One item by its key, whatever its state (None if there is no such item)."""

    def check(self, item: Sendable) -> None:
        """Raise a refusal if the item may not be sent now (e.g. not sealed)."""

    def records(self, item: Sendable) -> Iterator[Mapping[str, Any]]:
        """The package records of the item, in order."""

    def mark_sent(self, item: Sendable, package: Package) -> None:
        """Inside the export's transaction: check again under a lock and move the item on."""


@dataclass(frozen=True)
class IncomingPackage:
    """A verified package handed to its receiver inside the import's transaction.

    A receiver reads either `records` (streamed) or, for a package with photos,
    `read_all(folder)`: the records as a list and the photos written into `folder`, each
    checked again against the signed manifest (`genchi.package_format.PackageContents`).
    """

    package: Package  # the row just recorded (holder, contract, package id, digest …)
    contract: Contract
    records: Iterator[dict[str, Any]]
    record_count: int
    read_all: Callable[[Path], PackageContents] | None = None


class Receiver(Protocol):
    """What the receiving side's owner of a kind provides."""

    kind: str
    side: str  # "ward", "contractor" or "either": the organisation that receives it

    def receive(self, incoming: IncomingPackage) -> int:
        """Store the records; return how many were stored. Raise a refusal to store none."""


_sources: dict[str, OutgoingSource] = {}
_receivers: dict[str, Receiver] = {}


def register_source(source: OutgoingSource) -> None:
    """Called once per kind from the owning app's ready(); registering twice is a bug."""
    existing = _sources.get(source.kind)
    if existing is not None and existing is not source:
        raise RuntimeError(f"an outgoing source for {source.kind!r} is already registered")
    _sources[source.kind] = source


def register_receiver(receiver: Receiver) -> None:
    existing = _receivers.get(receiver.kind)
    if existing is not None and existing is not receiver:
        raise RuntimeError(f"a receiver for {receiver.kind!r} is already registered")
    _receivers[receiver.kind] = receiver


def source_for(kind: str) -> OutgoingSource | None:
    return _sources.get(kind)


def receiver_for(kind: str) -> Receiver | None:
    return _receivers.get(kind)
