"""Known results for the evaluation tests: cases imported through intake, and results as
an imported result package leaves them (outcome and contact slip per case)."""

from __future__ import annotations

import uuid

from genchi.intake import services as intake
from genchi.results.models import CaseResult, ContactSlip, Outcome, ReturnedResults
from genchi.transfer.models import Package


def cases(contract, count: int) -> list:
    rows = "".join(
        f"試験 {i:03d},154-0004,東京都世田谷区太子堂4-1-{i + 1}\r\n" for i in range(count)
    )
    data = ("氏名,郵便番号,住所\r\n" + rows).encode()
    run = intake.create_run(contract, data, filename="world.csv")
    intake.check_run(run)
    intake.commit_run(run)
    return list(contract.cases.order_by("id"))


def results(contract, specs: list[tuple[str, str]]) -> list[CaseResult]:
    """One result per (outcome, contact slip) in `specs`, on fresh cases of `contract`."""
    made = cases(contract, len(specs))[-len(specs) :]
    package = Package.objects.create(
        holder=contract.ward,
        direction=Package.Direction.INCOMING,
        kind=Package.Kind.RESULTS,
        contract=contract,
        sender=contract.contractor,
        recipient=contract.ward,
        record_count=len(specs),
        digest="0" * 64,
        size=1,
        filename="results.age",
        manifest_created_at="",
        signing_fingerprint="",
    )
    returned = ReturnedResults.objects.create(
        contract=contract,
        package=package,
        answers=uuid.uuid4(),
        batch_code="B1",
        case_count=len(specs),
    )
    return [
        CaseResult.objects.create(
            contract=contract,
            case=case,
            case_ref=case.ref,
            returned=returned,
            outcome=outcome,
            contact_slip=slip,
        )
        for case, (outcome, slip) in zip(made, specs, strict=True)
    ]


# Ten cases: 3 met (2 with a slip handed), 3 presumed (slip posted), 2 not resident (one
# posted), 1 not found, 1 not surveyable: 6 slips left.
KNOWN = [
    (Outcome.RESIDENT_CONFIRMED, ContactSlip.IN_PERSON),
    (Outcome.RESIDENT_CONFIRMED, ContactSlip.IN_PERSON),
    (Outcome.RESIDENT_CONFIRMED, ContactSlip.NOT_LEFT),
    (Outcome.RESIDENT_PRESUMED, ContactSlip.POSTED),
    (Outcome.RESIDENT_PRESUMED, ContactSlip.POSTED),
    (Outcome.RESIDENT_PRESUMED, ContactSlip.POSTED),
    (Outcome.NOT_RESIDENT, ContactSlip.POSTED),
    (Outcome.NOT_RESIDENT, ContactSlip.NOT_LEFT),
    (Outcome.WHEREABOUTS_UNKNOWN, ContactSlip.UNSEEN),
    (Outcome.NOT_SURVEYABLE, ContactSlip.UNSEEN),
]
