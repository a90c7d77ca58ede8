"""Reads behind the area pages: the office's contracts, the bases, and a proposal laid out
for its page (map, table per surveyor, towns, cases, flagged cases).

The number of queries does not grow with the cases: the cases come in one read
(`fieldwork.selectors.cases_for_planning`, logged), the proposal's rows in one more.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from genchi.fieldwork import selectors as cases
from genchi.geo.maps import MapLayers, convex_hull
from genchi.parties.models import Contract
from genchi.parties.selectors import office_contracts_for
from genchi.planning import haversine_km

from .areas_services import DEFAULT_PARAMS, base_of, eligible_surveyors, flag_reason, placed
from .models import AreaProposal, SurveyorBase

TRIP_DETOUR = 1.2  # genchi.planning's default trip_detour_factor


def area_contracts_for(user):
    return office_contracts_for(user).filter(contractor_id=user.organisation_id).order_by("code")


def area_contract_for(user, code: str) -> Contract:
    """A contract on which this person does the contractor's office work, or 403."""
    contract = area_contracts_for(user).filter(code=code).select_related("ward").first()
    if contract is None:
        raise PermissionDenied(_("この契約の担当地域を扱う権限がありません。"))
    return contract


def bases_of(contract: Contract) -> dict:
    """{person id (None: the office): SurveyorBase}."""
    return {
        b.person_id: b for b in SurveyorBase.objects.filter(contract=contract).select_related("by")
    }


class Row(NamedTuple):
    case_ref: str
    surveyor_id: int | None
    proposed_surveyor_id: int | None
    trip: str
    reason: str

    @property
    def moved(self) -> bool:
        return self.surveyor_id != self.proposed_surveyor_id


@dataclass
class SurveyorRow:
    person: object
    base: SurveyorBase | None
    own_base: bool
    cases: int = 0
    trip_cases: int = 0
    trips: list[str] = field(default_factory=list)
    visits: float = 0.0
    km: float = 0.0
    moved_in: int = 0
    workload: int | None = None


def proposal_page(user, contract: Contract, proposal: AreaProposal | None) -> dict:
    """Everything the proposal page shows; reading the cases is logged."""
    read = cases.cases_for_planning(user, contract, view="area_proposal")
    flagged = [{**c, "reason": flag_reason(c)} for c in read if not placed(c)]
    surveyors, refused = eligible_surveyors(contract)
    bases = bases_of(contract)
    out: dict = {
        "flagged": flagged,
        "surveyors": surveyors,
        "refused": refused,
        "bases": bases,
        "office_base": bases.get(None),
        "waiting": sum(1 for c in read if placed(c)),
    }
    if proposal is None:
        return out
    by_ref = {c["ref"]: c for c in read}
    rows = [
        Row(*values)
        for values in proposal.rows.order_by("case_ref").values_list(
            "case_ref", "surveyor_id", "proposed_surveyor_id", "trip", "reason"
        )
    ]
    revisits = float(proposal.params.get("expected_revisits", DEFAULT_PARAMS["expected_revisits"]))
    detour = float(proposal.params.get("detour_factor", DEFAULT_PARAMS["detour_factor"]))
    lodging = {t["id"]: t["lodging"] for t in proposal.summary.get("trips", [])}

    table: dict = {}
    people = {p.pk: p for p in surveyors}
    # Surveyors of the proposal no longer eligible still get their line (one query).
    named = {r.surveyor_id for r in rows} | {r.proposed_surveyor_id for r in rows}
    for person in get_user_model().objects.filter(pk__in=named - set(people) - {None}):
        people[person.pk] = person
    for pk, person in people.items():
        base = base_of(person, bases)
        table[pk] = SurveyorRow(
            person,
            base,
            own_base=pk in bases,
            workload=proposal.summary.get("workload", {}).get(str(pk)),
        )

    layers = MapLayers()
    for pk, line in table.items():
        layers.group(str(pk), str(line.person))
    case_rows = []
    towns: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    trip_pairs: set[tuple[str, int]] = set()
    local_points: dict[int, list] = defaultdict(list)
    trip_rows: dict[str, list] = defaultdict(list)
    for c in read:  # the towns in the cases' order (prefecture code, city)
        if placed(c):
            towns[(c["pref"], c["city"], c["town"])]
    detail = reverse("fieldwork:case_detail", args=[contract.code, "REF"])[: -len("REF/")]
    for row in rows:
        case = by_ref.get(row.case_ref)
        if case is None:  # out in the field or gone since the proposal was made
            continue
        line = table.get(row.surveyor_id)
        group = (
            str(row.surveyor_id) if line else layers.group("none", _("調査員なし"), neutral=True)
        )
        if line and not row.trip:
            local_points[row.surveyor_id].append((case["lat"], case["lng"]))
        if row.trip:
            trip_rows[row.trip].append((row, case))
        label = f"{row.case_ref} {case['city']}{case['town']}"
        if row.trip:
            label += f" [{_('出張')} {row.trip}]"
        layers.marker(
            case["lat"], case["lng"], label=label, group=group, href=f"{detail}{row.case_ref}/"
        )
        towns[(case["pref"], case["city"], case["town"])][row.surveyor_id] += 1
        if line:
            visits = 1 + revisits
            line.cases += 1
            line.visits += visits
            line.moved_in += row.moved
            if row.trip:
                line.trip_cases += 1
                if row.trip not in line.trips:
                    line.trips.append(row.trip)
                trip_pairs.add((row.trip, row.surveyor_id))
            elif line.base is not None:
                km = float(
                    haversine_km(
                        [(float(line.base.lat), float(line.base.lng))], [(case["lat"], case["lng"])]
                    )[0, 0]
                )
                line.km += 2 * visits * km * detour
        case_rows.append((row, case))
    for trip, pk in sorted(trip_pairs):
        line = table[pk]
        point = lodging.get(trip)
        if point and line.base is not None:
            base = (float(line.base.lat), float(line.base.lng))
            km = float(haversine_km([base], [(point["lat"], point["lng"])])[0, 0])
            line.km += 2 * km * TRIP_DETOUR
            layers.route(
                [base, (point["lat"], point["lng"])], group=str(pk), label=f"{_('出張')} {trip}"
            )
    for pk, line in table.items():
        # The area is the hull of the surveyor's day-trip cases; trips are drawn as lines.
        hull = convex_hull([p for p in local_points[pk] if p[0] is not None])
        if len(hull) >= 3:
            layers.hulls.append({"group": str(pk), "label": str(line.person), "points": hull})
        if line.base is not None:
            layers.marker(
                line.base.lat,
                line.base.lng,
                label=f"{_('拠点')}: {line.base.label} ({line.person})",
                group=str(pk),
            )
    names = {pk: str(line.person) for pk, line in table.items()}
    in_proposal = {r.case_ref for r in rows}
    editable = proposal.status == AreaProposal.Status.DRAFT
    trips = []
    for trip in sorted(trip_rows, key=lambda t: (len(t), t)):
        members = trip_rows[trip]
        first = members[0][1]
        trips.append(
            {
                "id": trip,
                "cases": len(members),
                "where": f"{first['pref']}{first['city']}",
                "surveyors": ", ".join(
                    sorted({names.get(r.surveyor_id, "—") for r, _c in members})
                ),
            }
        )
    for line in table.values():
        line.trips.sort(key=lambda t: (len(t), t))
    moved_badge = format_html(' <span class="badge">{}</span>', _("移動"))
    town_list = [
        (
            key,
            sum(counter.values()),
            ", ".join(f"{names.get(pk, _('なし'))} {n}" for pk, n in counter.most_common()),
        )
        for key, counter in towns.items()
        if counter
    ]
    # The two long tables are joined here rather than by the template language, which
    # costs several times more per cell at 500 rows (docs/performance.md).
    out.update(
        {
            "table": list(table.values()),
            "case_count": len(case_rows),
            "case_html": format_html_join(
                "\n",
                '<tr>{}<td class="mono"><a href="{}">{}</a></td><td>{}{}{}</td><td>{}</td>'
                "<td>{}{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        format_html(
                            '<td><input type="checkbox" name="case" value="{}" aria-label="{}"></td>',
                            row.case_ref,
                            row.case_ref,
                        )
                        if editable
                        else "",
                        f"{detail}{row.case_ref}/",
                        row.case_ref,
                        case["pref"],
                        case["city"],
                        case["town"],
                        names.get(row.proposed_surveyor_id, "—"),
                        names.get(row.surveyor_id, "—"),
                        moved_badge if row.moved else "",
                        row.trip,
                        row.reason,
                    )
                    for row, case in case_rows
                ),
            ),
            "town_html": format_html_join(
                "\n",
                "<tr>{}<td>{}{}{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        format_html(
                            '<td><input type="radio" name="town_key" value="{}" aria-label="{}"></td>',
                            "|".join(key),
                            "".join(key),
                        )
                        if editable
                        else "",
                        *key,
                        count,
                        who,
                    )
                    for key, count, who in town_list
                ),
            ),
            "town_count": len(town_list),
            "trips": trips,
            "map": layers,
            "unassigned": sum(1 for row, _case in case_rows if row.surveyor_id is None),
            "moved": sum(1 for row, _case in case_rows if row.moved),
            "outside": len(rows) - len(case_rows),
            "new_cases": sum(1 for c in read if placed(c) and c["ref"] not in in_proposal),
        }
    )
    return out


def bases_page(contract: Contract) -> dict:
    """The bases and the designated surveyors (each with their base or the office's)."""
    from genchi.parties.selectors import designated_surveyors

    bases = bases_of(contract)
    people = list(designated_surveyors(contract))
    layers = MapLayers()
    office = bases.get(None)
    if office is not None:
        group = layers.group("office", _("事務所"), neutral=True)
        layers.marker(office.lat, office.lng, label=f"{_('事務所')}: {office.label}", group=group)
    rows = []
    for person in people:
        own = bases.get(person.pk)
        if own is not None:
            group = layers.group(str(person.pk), str(person))
            layers.marker(own.lat, own.lng, label=f"{person}: {own.label}", group=group)
        rows.append({"person": person, "base": own, "uses_office": own is None})
    return {"office": office, "rows": rows, "map": layers, "people": people}
