"""Enrolment, sign-in, sync down and revocation of tablets (D6, C-S2.1/3/4/7).

Each step is logged in the audit chain. A refusal is a `Refused` with a Japanese
message for the app; `wipe=True` tells the app to erase everything it holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from genchi.accounts import services as accounts
from genchi.audit.chain import record
from genchi.core.acting import actor_for_user
from genchi.fieldwork import selectors as fieldwork
from genchi.parties.selectors import is_designated_surveyor, may_work_on

from . import field_day, networks, signing
from .models import (
    Challenge,
    DeviceSession,
    Enrolment,
    HeldCase,
    OpenedCase,
    TabletDevice,
    Upload,
    UploadPhoto,
    UsedNonce,
)

CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"  # no 0/O, 1/I, 2/Z, 5/S, 6/G, 8/B
CODE_LENGTH = 8
ENROLMENT_MINUTES = 15
CHALLENGE_SECONDS = 120
SESSION_MINUTES = 30
CLOCK_SKEW_SECONDS = 300
CLIENT_ID = re.compile(r"^[0-9a-f]{16,32}$")  # the device's own ids for what it sends


class Refused(Exception):
    """A tablet request refused; `message` is for the person holding the tablet."""

    def __init__(self, message: str, *, status: int = 403, wipe: bool = False, reason: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.wipe = wipe
        self.reason = reason


def idle_lock_seconds() -> int:
    return int(getattr(settings, "GENCHI_TABLET_IDLE_LOCK_SECONDS", 120))


def check_network(ip: str, contract_code: str | None, *, step: str, device=None) -> None:
    """Refuse (and log) a request from outside the networks set for the contract."""
    if networks.allowed(ip, contract_code):
        return
    record(
        "tablet.network_refused",
        obj=device,
        object_type="" if device else "tablet.tabletdevice",
        contract=contract_code or "",
        detail={"step": step, "ip": ip},
    )
    raise Refused(
        _(
            "この場所のネットワークからは接続できません。同期と登録は事務所の"
            "ネットワーク(指定された回線)からだけ行えます。"
        ),
        reason="network",
    )


# --- Enrolment ---------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def start_enrolment(public_key: str) -> Enrolment:
    """The tablet asks to be enrolled with the public key it made; it gets a code to show."""
    signing.public_key_from(public_key)
    fp = signing.fingerprint(public_key)
    if TabletDevice.objects.filter(key_fingerprint=fp).exists():
        raise Refused(_("この鍵の端末はすでに登録されています。"), status=409)
    now = timezone.now()
    with transaction.atomic():  # the clearing, the code and its entry stay together
        Enrolment.objects.filter(expires_at__lt=now, device__isnull=True).delete()
        Enrolment.objects.filter(key_fingerprint=fp, device__isnull=True).delete()
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    enrolment = Enrolment.objects.create(
                        code=_new_code(),
                        public_key=public_key,
                        key_fingerprint=fp,
                        expires_at=now + dt.timedelta(minutes=ENROLMENT_MINUTES),
                    )
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - 25^8 codes
            raise Refused(_("登録コードを作れませんでした。もう一度お試しください。"), status=503)
        record(
            "tablet.enrolment_requested",
            obj=enrolment,
            detail={"fingerprint": fp[:16], "code": enrolment.code},
        )
    return enrolment


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())[:16]


def enrolment_problems(surveyor, contract) -> list[str]:
    """Why `surveyor` may not get a tablet on `contract` (empty: they may)."""
    reasons = list(may_work_on(surveyor, contract))
    if contract.status != "active":
        reasons.append(
            _("この契約は履行中ではありません(終了・消去した契約にはタブレットを登録できません)。")
        )
    if not is_designated_surveyor(surveyor, contract):
        reasons.append(_("この契約の調査員に指定されていません。"))
    if getattr(surveyor, "role", "") != "surveyor":
        reasons.append(_("調査員の役割ではありません。"))
    return reasons


def confirm_enrolment(code: str, *, contract, surveyor, label: str, by) -> TabletDevice:
    """The manager confirms, in the office, the code the tablet shows, for one surveyor.
    The refusal's log entry is written after the transaction, so it stays."""
    try:
        with transaction.atomic():
            return _confirm(code, contract=contract, surveyor=surveyor, label=label, by=by)
    except _Refusal as refusal:
        record(
            "tablet.enrolment_refused", obj=refusal.obj, contract=contract, detail=refusal.detail
        )
        raise refusal.refused from None


class _Refusal(Exception):
    def __init__(self, refused: Refused, detail: dict, obj=None):
        self.refused, self.detail, self.obj = refused, detail, obj


def _confirm(code: str, *, contract, surveyor, label: str, by) -> TabletDevice:
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",), no_key=True)
        .filter(code=normalise_code(code), device__isnull=True, expires_at__gte=timezone.now())
        .first()
    )
    if enrolment is None:
        raise _Refusal(
            Refused(
                _("登録コードが見つからないか、有効期限(%(m)d分)を過ぎています。")
                % {"m": ENROLMENT_MINUTES}
            ),
            {"reason": "code"},
        )
    reasons = enrolment_problems(surveyor, contract)
    if reasons:
        raise _Refusal(
            Refused(" ".join(reasons)), {"reason": "person", "reasons": reasons}, surveyor
        )
    device = TabletDevice.objects.create(
        contract=contract,
        surveyor=surveyor,
        label=label[:64],
        public_key=enrolment.public_key,
        key_fingerprint=enrolment.key_fingerprint,
        by=by,
    )
    enrolment.device = device
    enrolment.save(update_fields=["device"])
    record(
        "tablet.enrolled",
        obj=device,
        contract=contract,
        detail={
            "surveyor": surveyor.username,
            "fingerprint": device.key_fingerprint[:16],
            "label": device.label,
        },
    )
    return device


def enrolment_state(public_key: str) -> dict:
    """What the tablet that made `public_key` sees while it waits for the office."""
    fp = signing.fingerprint(public_key)
    device = TabletDevice.objects.filter(key_fingerprint=fp).select_related("contract").first()
    if device is not None:
        if device.is_revoked:
            raise Refused(_("この端末は失効しています。"), status=410, wipe=True, reason="revoked")
        return {
            "state": "enrolled",
            "device": device.pk,
            "contract": device.contract.title,
            "surveyor": device.surveyor.username,
        }
    enrolment = Enrolment.objects.filter(key_fingerprint=fp).first()
    if enrolment is None or enrolment.expires_at < timezone.now():
        return {"state": "expired"}
    return {"state": "pending", "code": enrolment.code}


# --- Signed requests ------------------------------------------------------------------------


def device_of(device_id: str) -> TabletDevice:
    if not device_id.isascii() or not device_id.isdigit() or len(device_id) > 18:
        raise Refused(_("端末が登録されていません。"), status=401, reason="device")
    device = (
        TabletDevice.objects.filter(pk=int(device_id))
        .select_related("contract", "surveyor")
        .first()
    )
    if device is None:
        raise Refused(_("端末が登録されていません。"), status=401, reason="device")
    return device


def check_signature(
    public_key: str, *, method: str, path: str, time: str, nonce: str, body: bytes, signature: str
) -> None:
    """Refuse a request whose signature does not verify or whose time is too far off."""
    try:
        sent = int(time) / 1000
    except ValueError:
        sent = 0
    if abs(timezone.now().timestamp() - sent) > CLOCK_SKEW_SECONDS:
        raise Refused(
            _("端末の時計が合っていません。日時を合わせてからやり直してください。"),
            status=401,
            reason="clock",
        )
    if not (16 <= len(nonce) <= 64 and nonce.isascii() and nonce.isalnum()):
        raise Refused(_("署名を確認できませんでした。"), status=401, reason="nonce")
    message = signing.signed_text(method, path, time, nonce, body)
    if not signing.verify(public_key, message, signature):
        raise Refused(_("署名を確認できませんでした。"), status=401, reason="signature")


def use_nonce(device: TabletDevice, nonce: str) -> None:
    """Keep the request's nonce; a nonce seen before is a replay, refused and logged (and
    nothing else is written with that entry)."""
    try:
        with transaction.atomic():
            UsedNonce.objects.create(device=device, nonce=nonce)
    except IntegrityError as exc:
        record("tablet.replay_refused", obj=device, contract=device.contract)
        raise Refused(_("同じ要求が二度送られました。"), status=401, reason="replay") from exc
    # Older than any time a signed request is accepted at: no longer needed to see a replay.
    cutoff = timezone.now() - dt.timedelta(seconds=2 * CLOCK_SKEW_SECONDS)
    UsedNonce.objects.filter(at__lt=cutoff).delete()


def refuse_if_revoked(device: TabletDevice, *, ip: str) -> None:
    """A revoked device, or one whose surveyor may no longer work on the contract, is told
    to wipe itself (C-S2.7); each such instruction is logged."""
    reasons: list[str] = []
    if device.is_revoked:
        reasons.append(_("この端末は事務所で失効されました。"))
    else:
        reasons = enrolment_problems(device.surveyor, device.contract)
    if not reasons:
        return
    now = timezone.now()
    with transaction.atomic():  # the mark and its entry together, then the refusal
        TabletDevice.objects.filter(pk=device.pk).update(wiped_at=now)
        discarded = discard_waiting(device)
        record(
            "tablet.wipe_sent",
            obj=device,
            contract=device.contract,
            detail={"reasons": reasons, "ip": ip, "visits_discarded": discarded},
            actor=actor_for_user(device.surveyor, ip=ip, channel="tablet"),
        )
    raise Refused(
        _("この端末のデータを消去しました。") + " " + " ".join(reasons),
        status=410,
        wipe=True,
        reason="revoked",
    )


def discard_waiting(device: TabletDevice) -> int:
    """A revoked device's visits still waiting for photos are dropped, their contents
    forgotten: nothing half-sent by a device that may be in other hands is recorded
    (visits recorded before stay; docs/tablet.md, "Sync up")."""
    waiting = list(
        Upload.objects.filter(device=device, state=Upload.State.WAITING).values_list(
            "pk", flat=True
        )
    )
    UploadPhoto.objects.filter(upload_id__in=waiting).delete()
    Upload.objects.filter(pk__in=waiting).update(
        state=Upload.State.REFUSED, reason="revoked", sealed=b"", settled_at=timezone.now()
    )
    return len(waiting)


# --- Sign-in ------------------------------------------------------------------------------


def new_challenge(device: TabletDevice, *, ip: str) -> Challenge:
    check_network(ip, device.contract.code, step="challenge", device=device)
    refuse_if_revoked(device, ip=ip)
    Challenge.objects.filter(expires_at__lt=timezone.now()).delete()
    return Challenge.objects.create(
        device=device,
        value=secrets.token_hex(32),
        expires_at=timezone.now() + dt.timedelta(seconds=CHALLENGE_SECONDS),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_challenge(device: TabletDevice, challenge: str, *, lock: bool = False):
    found = (
        Challenge.objects.select_for_update(of=("self",), no_key=True)
        if lock
        else Challenge.objects
    )
    found = found.filter(device=device, value=challenge, used_at__isnull=True).first()
    if found is None or found.expires_at < timezone.now():
        raise Refused(
            _("確認の有効期限が切れました。もう一度サインインしてください。"),
            status=401,
            reason="challenge",
        )
    return found


def sign_in(
    request, device: TabletDevice, *, username: str, password: str, challenge: str, ip: str
):
    """ID and password of the surveyor the device is enrolled for, plus the device's
    signature over a fresh server challenge (checked by the caller on the whole body).
    Returns (session token, expiry). The password is checked outside any transaction (the
    lockout's rule, accounts/lockout.py); the challenge is used up, and the session or the
    refusal written, with their entries in the transaction that settles the try."""
    _open_challenge(device, challenge)  # an expired challenge costs no try
    outcome: dict = {}

    def answer(result) -> None:
        found = _open_challenge(device, challenge, lock=True)  # used by another try: refused
        found.used_at = timezone.now()
        found.save(update_fields=["used_at"])
        if result.user is None:
            record(
                "tablet.signin_refused",
                obj=device,
                contract=device.contract,
                detail={"reason": "password", "ip": ip},
            )
            outcome["refused"] = Refused(result.message, status=401, reason="password")
        elif result.user.pk != device.surveyor_id:
            record(
                "tablet.signin_refused",
                obj=device,
                contract=device.contract,
                detail={"reason": "other_person", "username": result.user.username, "ip": ip},
                actor=actor_for_user(result.user, ip=ip, channel="tablet"),
            )
            outcome["refused"] = Refused(
                _("この端末は別の調査員のために登録されています。"), reason="other_person"
            )
        else:
            token = secrets.token_urlsafe(32)
            expires = timezone.now() + dt.timedelta(minutes=SESSION_MINUTES)
            DeviceSession.objects.filter(device=device, expires_at__lt=timezone.now()).delete()
            DeviceSession.objects.create(
                device=device, token_hash=_token_hash(token), expires_at=expires
            )
            record(
                "tablet.signed_in",
                obj=device,
                contract=device.contract,
                detail={"ip": ip},
                actor=actor_for_user(device.surveyor, ip=ip, channel="tablet"),
            )
            outcome["session"] = (token, expires)

    accounts.check_password(request, username, password, ip=ip, within=answer)
    if "refused" in outcome:
        raise outcome["refused"]
    return outcome["session"]


def check_session(device: TabletDevice, token: str) -> None:
    if (
        not token
        or not DeviceSession.objects.filter(
            device=device, token_hash=_token_hash(token), expires_at__gte=timezone.now()
        ).exists()
    ):
        raise Refused(
            _("サインインの有効期限が切れました。事務所でもう一度サインインしてください。"),
            status=401,
            reason="session",
        )


# --- Sync down ----------------------------------------------------------------------------


def lease_secret(device: TabletDevice) -> str:
    """The device's lease secret: part of the key that opens its local data, handed out
    only at a sync; derived, never stored, and different for every enrolled key."""
    mac = salted_hmac(
        "genchi.tablet.lease", f"{device.pk}:{device.key_fingerprint}", algorithm="sha256"
    )
    return base64.b64encode(mac.digest()).decode()


def lease_end(now: dt.datetime | None = None) -> dt.datetime:
    """The end of the next working day (Monday to Friday), local time; the number of
    working days is a setting (`GENCHI_TABLET_LEASE_WORKING_DAYS`)."""
    now = timezone.localtime(now or timezone.now())
    day = now.date()
    left = int(getattr(settings, "GENCHI_TABLET_LEASE_WORKING_DAYS", 1))
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end, timezone.get_current_timezone())


def case_payload(case) -> dict:
    """What the tablet keeps of a case: the four items, the address reading, the place."""
    return {
        "ref": case.case_ref,
        "name": case.name,
        "postal_code": case.postal_code,
        "address": case.address,
        "building_line": case.building_line,
        "pref": case.pref,
        "city": case.city,
        "town": case.town,
        "rest": case.rest,
        "lat": case.lat,
        "lng": case.lng,
        "status": case.status,
        "visit_count": case.visit_count,
        # What is left to ask: the outcome so far and, if the office sent it back, why.
        "outcome": case.get_outcome_display() if case.outcome else "",
        "needs_revisit": case.needs_revisit,
        "review_reason": case.review_reason or "",
    }


def sync_down(device: TabletDevice, *, held: list[str], wanted: list[str] | None, ip: str) -> dict:
    """The surveyor's assigned cases and a new lease. `held`: the refs the device has
    (those no longer assigned come back in `drop`); `wanted`: when given, only these refs,
    and any ref outside the assignment refuses the whole request (logged)."""
    actor = actor_for_user(device.surveyor, ip=ip, channel="tablet")
    cases = list(fieldwork.cases_for_tablet(device.surveyor, device.contract))
    assigned = {c.case_ref for c in cases}
    if wanted is not None:
        outside = sorted(set(wanted) - assigned)
        if outside:
            record(
                "tablet.outside_assignment_refused",
                obj=device,
                contract=device.contract,
                detail={"refs": outside[:50], "count": len(outside)},
                actor=actor,
            )
            raise Refused(_("割り当てられていない案件は受け取れません。"), reason="assignment")
        cases = [c for c in cases if c.case_ref in set(wanted)]
    now = timezone.now()
    until = lease_end(now)
    drop = sorted(set(held) - assigned)
    with transaction.atomic():
        TabletDevice.objects.filter(pk=device.pk).update(last_sync_at=now, lease_until=until)
        # What the device holds from now on (conflict rules, the lost-device record).
        HeldCase.objects.filter(device=device).delete()
        HeldCase.objects.bulk_create(
            [HeldCase(device=device, case_ref=c.case_ref, since=now) for c in cases]
        )
        record(
            "tablet.synced_down",
            obj=device,
            contract=device.contract,
            detail={
                "count": len(cases),
                "refs": [c.case_ref for c in cases],
                "dropped": drop[:200],
                "lease_until": until.isoformat(),
                "ip": ip,
            },
            actor=actor,
        )
    route = field_day.todays_route(device, timezone.localdate(now))
    route["stops"] = [s for s in route["stops"] if s["ref"] in assigned]
    return {
        "cases": [case_payload(c) for c in cases],
        "route": route,
        "form": field_day.visit_form(),
        "rules": field_day.visit_rules(),
        "words": field_day.word_list(),
        "drop": drop,
        "lease_until": until.isoformat(),
        "lease_secret": lease_secret(device),
        "server_time": now.isoformat(),
        "idle_lock_seconds": idle_lock_seconds(),
    }


OPENED_MAX = 2000  # opened-case reports taken in one sync (a device holds a few hundred cases)


def log_opened_cases(device: TabletDevice, reports: list[dict], *, ip: str) -> int:
    """Log the cases the device opened offline since its last sync (every access is
    logged). Each report is {"id", "ref", "at"}: the device's id for it, the case and the
    moment; one sent twice is logged once. Malformed reports are skipped (the device lets
    them go with the rest); a moment in the future is logged as the server's time, with
    the device's clock noted. Returns how many were logged now."""
    now = timezone.now()
    fresh: list[OpenedCase] = []
    clocks = 0
    for item in reports[:OPENED_MAX]:
        if not isinstance(item, dict):
            continue
        client_id, ref = str(item.get("id", "")), str(item.get("ref", ""))
        at = parse_datetime(str(item.get("at", "")))
        if not CLIENT_ID.match(client_id) or not ref or len(ref) > 32 or at is None:
            continue
        if timezone.is_naive(at):
            at = timezone.make_aware(at, dt.UTC)
        if at > now + dt.timedelta(seconds=CLOCK_SKEW_SECONDS):
            at, clocks = now, clocks + 1
        fresh.append(OpenedCase(device=device, client_id=client_id, case_ref=ref, opened_at=at))
    if not fresh:
        return 0
    with transaction.atomic():
        known = set(
            OpenedCase.objects.filter(
                device=device, client_id__in=[o.client_id for o in fresh]
            ).values_list("client_id", flat=True)
        )
        new = list({o.client_id: o for o in fresh if o.client_id not in known}.values())
        OpenedCase.objects.bulk_create(new, ignore_conflicts=True)
        actor = actor_for_user(device.surveyor, ip=ip, channel="tablet")
        fieldwork.log_case_views_on_tablet(
            device.contract,
            [(o.case_ref, o.opened_at) for o in new],
            device=device.pk,
            actor=actor,
        )
        if clocks:
            record(
                "tablet.clock_ahead",
                obj=device,
                contract=device.contract,
                detail={"reports": clocks},
                actor=actor,
            )
    return len(new)


# --- Office -------------------------------------------------------------------------------


@transaction.atomic
def revoke(device: TabletDevice, *, by, reason: str) -> None:
    """Revoke a device (lost, stolen, surveyor left): its next contact wipes it."""
    if device.is_revoked:
        return
    device.revoked_at = timezone.now()
    device.revoked_by = by
    device.revoke_reason = reason[:200]
    device.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    DeviceSession.objects.filter(device=device).delete()
    record(
        "tablet.revoked",
        obj=device,
        contract=device.contract,
        detail={"reason": device.revoke_reason, "surveyor": device.surveyor.username},
    )


def revoke_for_erasure(contract, *, by, reason: str) -> int:
    """The erasure of `contract` (genchi.erasure): every tablet still live is revoked, so
    that its next contact wipes it; the one-shot sign-in leftovers go. Returns how many
    were revoked now."""
    revoked = 0
    for device in TabletDevice.objects.filter(contract=contract, revoked_at__isnull=True):
        revoke(device, by=by, reason=reason)
        revoked += 1
    devices = TabletDevice.objects.filter(contract=contract)
    Challenge.objects.filter(device__in=devices).delete()
    UsedNonce.objects.filter(device__in=devices).delete()
    # What the devices sent up (sealed visits and photos, field checks) and which cases
    # they held: nothing of the contract stays behind its erasure.
    Upload.objects.filter(device__in=devices).delete()
    HeldCase.objects.filter(device__in=devices).delete()
    return revoked
