"""Ledger lines written before 0008 kept Genchi's words as Japanese text in `note`: give
those whose words are recognised their code and values (`text_code`, `text_params`), so
they are shown in the reader's language like new lines; a person's own words after them
stay in `note`. Lines not recognised keep their text and are shown as stored. Packages
and export jobs from before 0008 were written into a folder: they say so."""

import re

from django.db import migrations

KINDS = {
    "調査対象者データ": "cases",
    "調査結果データ": "results",
    "消去証明書": "certificate",
}
REGISTERED = re.compile(r"^製造番号 (?P<serial>.*) / (?P<capacity>\d+)GB$")
WRITTEN = re.compile(r"^(?P<kind>\S+) (?P<count>\d+)件$")
WIPED = re.compile(r"^Genchi パッケージ (?P<n>\d+) 件を上書き削除$")


def _params_of(event):
    """(code, params, rest of the note) for a recognised line, else None."""
    note = event.note or ""
    if event.kind == "registered" and (m := REGISTERED.match(note)):
        return "registered", {"serial": m["serial"], "capacity_gb": int(m["capacity"])}, ""
    if event.kind == "written" and (m := WRITTEN.match(note)) and m["kind"] in KINDS:
        package = event.package
        params = {"kind": KINDS[m["kind"]], "count": int(m["count"]), "stick": event.stick.label}
        if package is not None:
            params |= {"package": str(package.package_id)[:8], "digest": package.digest[:12]}
        return "written", params, ""
    if event.kind == "wiped" and (m := WIPED.match(note)):
        return "wiped_files", {"n": int(m["n"])}, ""
    loan = event.loan
    if event.kind == "lent" and loan is not None and note.startswith(loan.borrower_name):
        if " 返却予定 " not in note:
            return None
        org = loan.borrower_org.name if loan.borrower_org_id else ""
        params = {"borrower": loan.borrower_name, "org": org, "due": loan.due_on.isoformat()}
        return "lent", params, ""
    if event.kind == "returned" and loan is not None:
        head = f"返却者 {loan.returned_by_name}"
        if not note.startswith(head):
            return None
        rest = note[len(head) :]
        overdue = rest.startswith(" 期限超過")
        if overdue:
            rest = rest[len(" 期限超過") :]
        params = {"returned_by": loan.returned_by_name, "overdue": overdue}
        return "returned", params, rest.strip()
    return None


def forwards(apps, schema_editor):
    db = schema_editor.connection.alias
    StickEvent = apps.get_model("transfer", "StickEvent")
    events = StickEvent.objects.using(db).filter(text_code="").select_related(
        "stick", "package", "loan", "loan__borrower_org"
    )
    for event in events.iterator(chunk_size=500):
        found = _params_of(event)
        if found is None:
            continue
        event.text_code, event.text_params, event.note = found
        event.save(update_fields=["text_code", "text_params", "note"])
    Package = apps.get_model("transfer", "Package")
    Package.objects.using(db).filter(direction="out").update(delivery="folder")
    HandoverJob = apps.get_model("transfer", "HandoverJob")
    HandoverJob.objects.using(db).filter(direction="export").update(delivery="folder")


def backwards(apps, schema_editor):
    """Back to words: the Japanese text the old code wrote, from the code and values."""
    db = schema_editor.connection.alias
    StickEvent = apps.get_model("transfer", "StickEvent")
    labels = {code: label for label, code in KINDS.items()}
    for event in StickEvent.objects.using(db).exclude(text_code="").iterator(chunk_size=500):
        p = event.text_params or {}
        code = event.text_code
        if code == "registered":
            words = f"製造番号 {p.get('serial', '')} / {p.get('capacity_gb', '')}GB"
        elif code.startswith("written"):
            words = f"{labels.get(p.get('kind'), p.get('kind', ''))} {p.get('count', 0)}件"
        elif code == "downloaded":
            words = f"パッケージ {p.get('package', '')} ダウンロード({p.get('n', 1)} 回目)"
        elif code == "wiped_files":
            words = f"Genchi パッケージ {p.get('n', 0)} 件を上書き削除"
        elif code == "lent":
            org = f"({p['org']})" if p.get("org") else ""
            words = f"{p.get('borrower', '')}{org} 返却予定 {p.get('due', '')}"
        elif code == "returned":
            words = f"返却者 {p.get('returned_by', '')}" + (" 期限超過" if p.get("overdue") else "")
        else:
            words = ""
        event.note = (f"{words} {event.note}".strip() if event.note else words)[:300]
        event.text_code, event.text_params = "", {}
        event.save(update_fields=["text_code", "text_params", "note"])


class Migration(migrations.Migration):
    dependencies = [("transfer", "0008_delivery_and_ledger_codes")]

    operations = [migrations.RunPython(forwards, backwards)]
