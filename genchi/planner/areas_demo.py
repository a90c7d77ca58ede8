"""Demo step: the office base and the surveyors' home stations, then an area proposal of
the received demo batch, confirmed by the manager (so surveyor1 and surveyor2 each see
their own area's cases)."""

from __future__ import annotations

from genchi.accounts.models import User
from genchi.parties.demo import CONTRACT_CODE
from genchi.parties.models import Contract

from . import areas_services as services
from .models import SurveyorBase

# (username or None for the office, kind, label, lat, lng): public places, not anyone's home.
DEMO_BASES = [
    (None, SurveyorBase.Kind.OFFICE, "本社(新宿)", 35.689592, 139.700413),
    ("surveyor1", SurveyorBase.Kind.HOME_STATION, "JR中野駅", 35.705765, 139.665697),
    ("surveyor2", SurveyorBase.Kind.HOME_STATION, "JR横浜駅", 35.465833, 139.622778),
]


def demo_areas() -> None:
    contract = Contract.objects.filter(code=CONTRACT_CODE).first()
    manager = User.objects.filter(username="manager").first()
    if contract is None or manager is None:
        return
    people = {u.username: u for u in User.objects.filter(username__in=["surveyor1", "surveyor2"])}
    for username, kind, label, lat, lng in DEMO_BASES:
        person = people.get(username) if username else None
        if username and person is None:
            continue
        services.set_base(contract, person, label=label, kind=kind, lat=lat, lng=lng, by=manager)
    try:
        proposal = services.propose(contract, by=manager)
    except services.ValidationError:
        return  # no received case with a position: nothing to assign
    services.confirm(contract, proposal.pk, by=manager)
