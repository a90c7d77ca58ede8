"""Every URL declares a policy, and every role gets exactly what the policy says (D2).

A new URL without a policy fails `test_every_url_declares_a_policy`. A new URL parameter
name fails `test_every_role_gets_what_the_policy_declares` until it is added to
URL_PARAMS below, with a value that names a real object of the test world.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from genchi.access.policy import policy_of
from genchi.accounts.models import Role

# How to fill each URL parameter, given the test world (see `world` below).
URL_PARAMS: dict[str, Callable[[dict], str]] = {
    "code": lambda w: w["contract"].code,
    "pk": lambda w: str(w["people"][Role.WARD_STAFF].pk),
    "ref": lambda w: w["case"].ref,
    "run_id": lambda w: str(w["import_run"].pk),
    "batch_id": lambda w: str(w["batch"].pk),
    "slip_id": lambda w: str(w["slip"].pk),
    "stick_id": lambda w: str(w["stick"].pk),
    "job_id": lambda w: str(w["handover_job"].pk),
}


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, object]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), entry.callback


def all_routes() -> list[tuple[str, str, object]]:
    return [r for r in walk(get_resolver().url_patterns) if not r[1].startswith("static/")]


def test_every_url_declares_a_policy():
    missing = [name for name, _route, view in all_routes() if policy_of(view) is None]
    assert not missing, f"URLs without a declared policy: {missing}"


def fill(route: str, world: dict) -> str:
    def replace(match):
        name = match.group(1).split(":")[-1]
        assert name in URL_PARAMS, f"add URL parameter '{name}' to URL_PARAMS"
        return URL_PARAMS[name](world)

    return "/" + re.sub(r"<([^>]+)>", replace, route)


@pytest.fixture
def world(people, contract) -> dict:
    from genchi.intake import services as intake
    from genchi.transfer.models import HandoverJob
    from tests.transfer.handover_world import url_policy_world

    data = "氏名,郵便番号,住所\r\n山田 太郎,154-0004,東京都世田谷区太子堂4-1-1\r\n".encode()
    run = intake.create_run(contract, data, filename="world.csv")
    intake.check_run(run)
    intake.commit_run(run)
    batch = intake.create_batch(contract, title="world")
    intake.add_cases(batch, list(contract.cases.all()))
    return {
        "people": people,
        "contract": contract,
        "case": contract.cases.get(),
        "import_run": run,
        "batch": batch,
        "handover_job": HandoverJob.objects.create(
            direction=HandoverJob.Direction.EXPORT, organisation=contract.ward, kind="cases"
        ),
        **url_policy_world(people, contract),
    }


@pytest.mark.django_db
def test_every_role_gets_what_the_policy_declares(world, client_for):
    problems = []
    for name, route, view in all_routes():
        declared = policy_of(view)
        url = fill(route, world)
        anonymous = Client()
        response = anonymous.get(url)
        if declared.public:
            if response.status_code >= 500 or response.status_code == 403:
                problems.append(f"{name}: public page answered {response.status_code}")
            continue
        if not (response.status_code == 302 and "/signin/" in response["Location"]):
            problems.append(f"{name}: anonymous got {response.status_code}, not the sign-in page")
        for role in Role:
            client = client_for(role)
            allowed = role in declared.roles
            for method in ("get",) if allowed else ("get", "post"):
                response = getattr(client, method)(url)
                status = response.status_code
                if allowed and (status == 403 or status >= 500):
                    problems.append(f"{name}: {role} is allowed but got {status} on {method}")
                if not allowed and status != 403:
                    problems.append(f"{name}: {role} is not allowed but got {status} on {method}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_person_without_role_is_told_and_logged(ward):
    from genchi.accounts.models import User
    from genchi.audit.models import AuditEntry
    from tests.conftest import PASSWORD

    person = User(username="no-role", organisation=ward, role="")
    person.set_password(PASSWORD)
    person.save()
    client = Client()
    client.post("/signin/", {"username": person.username, "password": PASSWORD})
    response = client.get("/signin/second-factor/")
    assert response.status_code == 403
    assert "役割または所属組織が登録されていません" in response.content.decode()
    assert AuditEntry.objects.filter(action="access.denied", detail__reason="no_role").exists()
