"""Sync up (issue 16 item 3, C-S2.4): visits and their photos from the device to the
server, through fieldwork's one visit write path (`fieldwork.services.record_visit`).

- Idempotent: the device names each visit and photo with its own random id; a visit or a
  photo sent twice is stored once, and the answer to a resend is the first one's.
- Batched (issue 18): one request carries several visits and their photos (batch.py);
  `receive_batch` takes each visit, then each of its photos, through the same
  `receive_visit` and `receive_photo`, each its own unit: a bad one does not lose the
  others.
- Resumable: a visit (its fields and the list of its photos with their SHA-256) comes
  with all or some of its photos. The answer always says which photos are still
  missing, so an interrupted sync continues where it stopped (at worst the request cut
  is sent again: what had come of it is kept once). The visit is recorded when its last
  photo has come.
- Checked twice: the visit form's rules (`fieldwork.forms.VisitForm`: the choices,
  `visit_problems` and the S5 guard) run when the visit arrives and again when it is
  recorded; a photo whose bytes are not the ones announced is refused.
- The conflict rules are in docs/tablet.md ("Sync up"); each refusal is logged.
"""

from __future__ import annotations

import hashlib
import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from genchi import vault
from genchi.audit.chain import record
from genchi.core.acting import acting_as, actor_for_user
from genchi.fieldwork import photos as photo_rules
from genchi.fieldwork import selectors as fieldwork
from genchi.fieldwork import services as fieldwork_services
from genchi.fieldwork.forms import VisitForm
from genchi.jobs import runner

from . import batch, checks
from .models import HeldCase, TabletDevice, Upload, UploadPhoto
from .services import CLIENT_ID, Refused

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Statuses of a case on which nothing more is recorded (fieldwork's SurveyCase.Status).
CLOSED = frozenset({"done", "reported"})
SOURCE_TABLET = "tablet"  # fieldwork's Visit.Source.TABLET


def _scope(device: TabletDevice):
    return vault.contract_scope(device.contract_id, vault.CONTRACTOR)


def _seal(device: TabletDevice, context: str, data: bytes) -> bytes:
    return vault.encrypt(_scope(device), f"tablet:{context}", data)


def _open(device: TabletDevice, context: str, blob: bytes) -> bytes:
    return vault.decrypt(_scope(device), f"tablet:{context}", bytes(blob))


def _actor(device: TabletDevice, ip: str):
    return actor_for_user(device.surveyor, ip=ip, channel="tablet")


def answer(upload: Upload) -> dict:
    """What the device is told about one of its visits (the same for every resend)."""
    result: dict = {"visit": upload.client_id, "state": upload.state}
    if upload.state == Upload.State.WAITING:
        have = set(upload.photos.values_list("client_id", flat=True))
        result["missing"] = [pid for pid, _sha in json.loads(upload.photo_list) if pid not in have]
    elif upload.state == Upload.State.REFUSED:
        result["reason"] = upload.reason
        result["message"] = str(REFUSAL_MESSAGES.get(upload.reason, ""))
    return result


REFUSAL_MESSAGES = {
    "assignment": gettext_lazy("割り当てられていない案件の訪問は受け付けません。"),
    "reassigned": gettext_lazy(
        "この案件は訪問の記録中に別の調査員に割り当て直されました。訪問は受け付けず、記録しました。事務所に伝えてください。"
    ),
    "closed": gettext_lazy("この案件はすでに完了または報告済みのため、訪問を追加できません。"),
    "revoked": gettext_lazy("端末が失効したため、受信途中の訪問は破棄しました。"),
    "invalid": gettext_lazy("訪問の内容が入力の規則に合わないため、受け付けませんでした。"),
}


def _case_of(device: TabletDevice, ref: str):
    """The case `ref` as the surveyor may see it now, or None."""
    return (
        fieldwork.survey_cases_for(device.surveyor, device.contract)
        .filter(case_ref=ref)
        .select_related("contract")
        .first()
    )


def _conflict(device: TabletDevice, ref: str, case) -> str:
    """Why a visit of `ref` cannot be recorded now ("" if it can): the case is no longer
    this surveyor's although the device was given it (reassigned), was never given to the
    device (assignment), or is finished (closed)."""
    if case is None:
        if HeldCase.objects.filter(device=device, case_ref=ref).exists():
            return "reassigned"
        return "assignment"
    if case.status in CLOSED:
        return "closed"
    return ""


def _form(case, fields: dict) -> VisitForm:
    """The office's visit form over the device's values (strings, numbers, true/false as
    the form posts them; photos come on their own)."""
    data = {}
    for name, value in fields.items():
        if isinstance(value, bool):
            if value:
                data[str(name)] = "on"
        elif isinstance(value, str | int | float):
            data[str(name)] = str(value)[:4000]
    return VisitForm(data=data, case=case)


def _refuse(upload: Upload, reason: str, *, ip: str, detail: dict | None = None) -> None:
    """Settle `upload` as refused, forget its contents, log it."""
    upload.state = Upload.State.REFUSED
    upload.reason = reason
    upload.sealed = b""
    upload.settled_at = timezone.now()
    upload.save(update_fields=["state", "reason", "sealed", "settled_at"])
    upload.photos.all().delete()
    device = upload.device
    action = (
        "tablet.outside_assignment_refused" if reason == "assignment" else "tablet.visit_refused"
    )
    record(
        action,
        obj=device,
        contract=device.contract,
        detail={"ref": upload.case_ref, "visit": upload.client_id, "reason": reason, "ip": ip}
        | (detail or {}),
        actor=_actor(device, ip),
    )


def receive_visit(
    device: TabletDevice,
    *,
    client_id: str,
    case_ref: str,
    fields: dict,
    photos: list,
    ip: str,
    arrived_at: str = "",
) -> dict:
    """A visit sent up by the device (its photos follow, in the same request or a later
    one). Returns the answer
    for the device: recorded, waiting (with the missing photos), refused (with why), or
    invalid (with the form's errors; nothing is kept and the device keeps the visit)."""
    if not CLIENT_ID.match(client_id) or not case_ref:
        raise Refused(_("訪問の番号が正しくありません。"), status=400, reason="client_id")
    listed = []
    for item in photos:
        if not (isinstance(item, dict) and CLIENT_ID.match(str(item.get("id", "")))):
            raise Refused(_("写真の番号が正しくありません。"), status=400, reason="photo")
        if not SHA256.match(str(item.get("sha256", ""))):
            raise Refused(_("写真の番号が正しくありません。"), status=400, reason="photo")
        listed.append([item["id"], item["sha256"]])
    if len({pid for pid, _sha in listed}) != len(listed):
        raise Refused(_("写真の番号が重複しています。"), status=400, reason="photo")
    if len(listed) > photo_rules.MAX_PHOTOS_PER_VISIT:
        raise Refused(
            _("写真は1回の訪問につき %(n)d 枚までです。") % {"n": photo_rules.MAX_PHOTOS_PER_VISIT},
            status=400,
            reason="photo",
        )
    existing = Upload.objects.filter(device=device, client_id=client_id).first()
    if existing is not None:
        return answer(existing)  # sent before: the first one counts
    case = _case_of(device, case_ref)
    conflict = _conflict(device, case_ref, case)
    # The form's S5 log, the upload and its entry: all or nothing.
    with transaction.atomic(), acting_as(_actor(device, ip)):
        if not conflict:
            form = _form(case, fields)
            if not form.is_valid():
                record(
                    "tablet.visit_invalid",
                    obj=device,
                    contract=device.contract,
                    detail={"ref": case_ref, "visit": client_id, "fields": sorted(form.errors)},
                )
                return {
                    "visit": client_id,
                    "state": "invalid",
                    "errors": {k: [str(m) for m in v] for k, v in form.errors.items()},
                }
        try:
            with transaction.atomic():
                upload = Upload.objects.create(
                    device=device,
                    client_id=client_id,
                    case_ref=case_ref[:32],
                    state=Upload.State.WAITING,
                    photo_list=json.dumps(listed),
                    arrived_at=_moment(arrived_at),
                )
                if conflict:
                    _refuse(upload, conflict, ip=ip)
                    return answer(upload)
                upload.sealed = _seal(
                    device, f"visit:{upload.pk}", json.dumps(fields, ensure_ascii=False).encode()
                )
                upload.save(update_fields=["sealed"])
                record(
                    "tablet.visit_received",
                    obj=device,
                    contract=device.contract,
                    detail={"ref": case_ref, "visit": client_id, "photos": len(listed)},
                )
        except IntegrityError:  # the same visit, sent twice at once: the other one counts
            return answer(Upload.objects.get(device=device, client_id=client_id))
        if not listed:
            return _complete(upload, ip=ip)
    return answer(upload)


def _moment(text: str):
    """The device's time the visit form was opened, if it reads as one."""
    moment = parse_datetime(str(text or "")[:40]) if text else None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def receive_photo(
    device: TabletDevice, *, visit_id: str, client_id: str, data: bytes, ip: str
) -> dict:
    """One photo of a visit sent before. Its bytes must be the ones announced (SHA-256);
    the last one brings the visit to be recorded."""
    upload = Upload.objects.filter(device=device, client_id=str(visit_id)[:32]).first()
    if upload is None:
        raise Refused(_("この写真の訪問が届いていません。"), status=404, reason="visit")
    if upload.state != Upload.State.WAITING:
        return answer(upload)
    expected = dict(json.loads(upload.photo_list))
    if client_id not in expected:
        raise Refused(_("この訪問の写真ではありません。"), status=400, reason="photo")
    if hashlib.sha256(data).hexdigest() != expected[client_id]:
        record(
            "tablet.photo_refused",
            obj=device,
            contract=device.contract,
            detail={"ref": upload.case_ref, "visit": upload.client_id, "photo": client_id},
            actor=_actor(device, ip),
        )
        raise Refused(
            _("写真が送信前のものと一致しません。端末で撮り直してください。"),
            status=400,
            reason="photo_mismatch",
        )
    with transaction.atomic():  # the photo kept and, if it was the last, the visit
        try:
            with transaction.atomic():
                UploadPhoto.objects.create(
                    upload=upload,
                    client_id=client_id,
                    sealed=_seal(device, f"photo:{upload.pk}:{client_id}", data),
                )
        except IntegrityError:
            pass  # sent before (a resumed sync): kept once
        if not answer(upload).get("missing"):
            return _complete(upload, ip=ip)
    return answer(upload)


def _complete(upload: Upload, *, ip: str) -> dict:
    """Every part of the visit has come: it is safe on the server (sealed), so the device
    may let it go; recording it (the form once more, the photos cleaned, hashed and
    encrypted, the field checks) runs in the background, not in the sync's request."""
    with transaction.atomic():
        updated = Upload.objects.filter(pk=upload.pk, state=Upload.State.WAITING).update(
            state=Upload.State.RECEIVED, completed_at=timezone.now()
        )
        upload.refresh_from_db()
        if updated:
            record(
                "tablet.visit_complete",
                obj=upload.device,
                contract=upload.device.contract,
                detail={
                    "ref": upload.case_ref,
                    "visit": upload.client_id,
                    "photos": len(json.loads(upload.photo_list)),
                    "ip": ip,
                },
                actor=_actor(upload.device, ip),
            )
    if updated:
        from . import tasks

        runner.enqueue_after_commit(tasks.settle_upload, upload.pk, ip, key=tasks.key_of(upload.pk))
        upload.refresh_from_db()  # in the tests the task has run already
    return answer(upload)


def settle(upload: Upload, *, ip: str) -> dict:
    """Record the visit whose photos have all come, through fieldwork's `record_visit`
    (the rules and the S5 guard once more), or refuse it by the conflict rules."""
    device = upload.device
    with transaction.atomic():
        upload = (
            Upload.objects.select_for_update(of=("self",), no_key=True)
            .select_related("device")
            .get(pk=upload.pk)
        )
        if upload.state not in (Upload.State.WAITING, Upload.State.RECEIVED):
            return answer(upload)
        case = _case_of(device, upload.case_ref)
        conflict = _conflict(device, upload.case_ref, case)
        if conflict:
            _refuse(upload, conflict, ip=ip)
            return answer(upload)
        fields = json.loads(_open(device, f"visit:{upload.pk}", upload.sealed))
        stored = {p.client_id: p for p in upload.photos.all()}
        photos = [
            _open(device, f"photo:{upload.pk}:{pid}", stored[pid].sealed)
            for pid, _sha in json.loads(upload.photo_list)
        ]
        with acting_as(_actor(device, ip)):
            form = _form(case, fields)
            if not form.is_valid():
                _refuse(upload, "invalid", ip=ip, detail={"fields": sorted(form.errors)})
                return answer(upload) | {
                    "errors": {k: [str(m) for m in v] for k, v in form.errors.items()}
                }
            data = {k: v for k, v in form.cleaned_data.items() if k != "photos"}
            try:
                visit = fieldwork_services.record_visit(
                    case, data, photos, by=device.surveyor, source=SOURCE_TABLET
                )
            except PermissionDenied:
                _refuse(upload, "reassigned", ip=ip)
                return answer(upload)
            except ValidationError as exc:
                reason = "closed" if _case_of(device, upload.case_ref) is None else "invalid"
                _refuse(upload, reason, ip=ip, detail={"problem": exc.messages[:3]})
                return answer(upload) | {"errors": {"__all__": exc.messages}}
            try:
                _mark_recorded(upload, visit, ip=ip, photos=len(photos))
                checks.check_visit(upload, visit, case)
            except BaseException:
                # The visit's rows roll back with this transaction: so do its files.
                photo_rules.discard([p.storage_name for p in visit.photos.all()])
                raise
    return answer(upload)


def _mark_recorded(upload: Upload, visit, *, ip: str, photos: int) -> None:
    upload.state = Upload.State.RECORDED
    upload.visit = visit
    upload.sealed = b""
    upload.settled_at = timezone.now()
    upload.save(update_fields=["state", "visit", "sealed", "settled_at"])
    upload.photos.all().delete()
    record(
        "tablet.visit_uploaded",
        obj=upload.device,
        contract=upload.device.contract,
        detail={
            "ref": upload.case_ref,
            "visit": upload.client_id,
            "number": visit.number,
            "photos": photos,
            "ip": ip,
        },
    )


def receive_batch(
    device: TabletDevice, visits: list, photos: dict[tuple[str, str], bytes], *, ip: str
) -> list[dict]:
    """The visits of one request and their photos (batch.py), each visit its own unit:
    the answers in the visits' order, each the one `receive_visit` or `receive_photo`
    gives (`photos_refused` added when a photo of it was refused; state `error`, with
    the reason, when the visit itself could not be read: the device keeps it)."""
    if len(visits) > batch.MAX_VISITS:
        raise Refused(too_large(), status=413, reason="size")
    ids = [str(item.get("visit", "")) if isinstance(item, dict) else "" for item in visits]
    if len(set(ids)) != len(ids):
        raise Refused(_("同じ訪問が1回の送信に2回含まれています。"), status=400, reason="batch")
    if any(visit not in ids for visit, _photo in photos):
        raise Refused(_("写真の訪問が送信に含まれていません。"), status=400, reason="batch")
    results = []
    for visit_id, item in zip(ids, visits, strict=True):
        try:
            results.append(_receive_one(device, visit_id, item, photos, ip=ip))
        except Refused as exc:
            results.append(
                {"visit": visit_id, "state": "error", "reason": exc.reason, "message": exc.message}
            )
    return results


def too_large() -> str:
    """Why a request was refused as too large, with the limits the app packs to."""
    return _("送られたデータが大きすぎます。1回の送信は %(mb)d MB、訪問 %(n)d 件までです。") % {
        "mb": batch.MAX_BYTES // (1024 * 1024),
        "n": batch.MAX_VISITS,
    }


def _receive_one(device: TabletDevice, visit_id: str, item, photos: dict, *, ip: str) -> dict:
    if not isinstance(item, dict):
        raise Refused(_("送られたデータを読めませんでした。"), status=400, reason="json")
    fields, listed = item.get("fields"), item.get("photos", [])
    if not isinstance(fields, dict) or not isinstance(listed, list):
        raise Refused(_("送られたデータを読めませんでした。"), status=400, reason="json")
    result = receive_visit(
        device,
        client_id=visit_id,
        case_ref=str(item.get("case", ""))[:32],
        fields=fields,
        photos=listed,
        ip=ip,
        arrived_at=str(item.get("arrived_at", "")),
    )
    refused = []
    for (visit, photo), data in photos.items():
        if visit != visit_id or photo not in result.get("missing", ()):
            continue  # another visit's, or here already (a resend): kept once
        try:
            result = receive_photo(device, visit_id=visit, client_id=photo, data=data, ip=ip)
        except Refused as exc:  # logged by receive_photo; the visit waits for it
            refused.append({"photo": photo, "reason": exc.reason, "message": exc.message})
    if refused:
        result = answer(Upload.objects.get(device=device, client_id=visit_id))
        result["photos_refused"] = refused
    return result
