"""The audit log in words for its readers (issue 13): people by name, objects by what they
are, details as readable lines. Reads only names and codes, never a case's personal data,
so showing the log does not itself open personal data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from genchi.audit.models import AuditEntry
from genchi.parties.models import Contract, Organisation

OBJECT_NOUNS = {
    "accounts.user": _("利用者"),
    "parties.organisation": _("組織"),
    "parties.contract": _("契約"),
    "parties.designation": _("担当者の指定"),
    "intake.case": _("案件"),
    "intake.batch": _("バッチ"),
    "intake.importrun": _("取込"),
    "intake.mappingpreset": _("列の対応"),
    "transfer.package": _("パッケージ"),
    "transfer.handoverslip": _("受け渡し票"),
    "transfer.usbstick": _("USBメモリ"),
    "transfer.stickloan": _("USBメモリの貸出"),
    "transfer.organisationkeypair": _("組織の鍵ペア"),
    "transfer.partnerkeycard": _("相手の公開鍵カード"),
    "fieldwork.surveycase": _("調査案件"),
    "compliance.chaincheck": _("改ざん検査"),
}

# Models whose rows are named by a field of their own rather than by their number.
_NAMED_BY = {
    "accounts.user": (get_user_model, "full_name"),
    "parties.organisation": (lambda: Organisation, "name"),
    "parties.contract": (lambda: Contract, "code"),
}


@dataclass(frozen=True)
class LogRow:
    entry: AuditEntry
    actor_name: str  # the person's name, or the username when the name is unknown
    object_text: str  # e.g. 「案件 7741」, 「利用者 高田 誠」
    detail_lines: list[str]


def _names(entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    """Names of the named objects and people on one page, one query per model."""
    wanted: dict[str, set[str]] = {label: set() for label in _NAMED_BY}
    for entry in entries:
        if entry.object_type in wanted and entry.object_id:
            wanted[entry.object_type].add(entry.object_id)
        if entry.actor_id is not None:
            wanted["accounts.user"].add(str(entry.actor_id))
    names: dict[tuple[str, str], str] = {}
    for label, ids in wanted.items():
        numeric = [int(i) for i in ids if i.isdigit()]
        if not numeric:
            continue
        model, field = _NAMED_BY[label][0](), _NAMED_BY[label][1]
        for pk, name in model.objects.filter(pk__in=numeric).values_list("pk", field):
            names[(label, str(pk))] = name
    return names


def _object_text(entry: AuditEntry, names: dict[tuple[str, str], str]) -> str:
    if not entry.object_type:
        return ""
    noun = OBJECT_NOUNS.get(entry.object_type, entry.object_type)
    name = names.get((entry.object_type, entry.object_id)) or entry.object_id
    return f"{noun} {name}".strip()


def _detail_lines(detail: dict) -> list[str]:
    lines = []
    for key, value in detail.items():
        if isinstance(value, dict):
            value = "、".join(f"{k}={v}" for k, v in value.items()) or "—"
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value) or "—"
        lines.append(f"{key}: {value}")
    return lines


def log_rows(entries: Iterable[AuditEntry]) -> list[LogRow]:
    page = list(entries)
    names = _names(page)
    return [
        LogRow(
            entry=entry,
            actor_name=names.get(("accounts.user", str(entry.actor_id))) or entry.actor,
            object_text=_object_text(entry, names),
            detail_lines=_detail_lines(entry.detail),
        )
        for entry in page
    ]
