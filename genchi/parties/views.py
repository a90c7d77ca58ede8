from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import (
    ALL_ROLES,
    CARD_CHECKERS,
    CONTRACTOR_ADMINS,
    CONTRACTOR_ROLES,
    HANDOVER_READERS,
    ORGANISATION_ADMINS,
    WARD_ADMINS,
    assignable_roles,
)
from genchi.accounts import services as account_services
from genchi.accounts.models import Role
from genchi.accounts.selectors import account_state, people_for
from genchi.audit.chain import record
from genchi.core.uploads import MemoryOnlyUploadHandler
from genchi.parties.selectors import (
    card_by_token,
    card_status,
    contract_for,
    contracts_for,
    id_cards_for,
    qualification_problems,
    roster,
)

from . import services
from .documents import id_card_pdf, roster_pdf
from .forms import (
    ContractForm,
    DesignationForm,
    OrganisationForm,
    PersonEditForm,
    PersonForm,
    PhotoForm,
    PledgeForm,
    TrainingForm,
)
from .models import Designation, IdCard, Organisation, Pledge, StaffPhoto
from .uploads import CONTENT_TYPES, PHOTO_MAX_BYTES, PLEDGE_MAX_BYTES


def _form_errors_to_messages(form, exc: ValidationError) -> None:
    for message in exc.messages:
        form.add_error(None, message)


@policy(WARD_ADMINS, description="組織の一覧と登録")
def organisation_list(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org = services.create_organisation(**form.cleaned_data)
        messages.success(request, _("組織「%(name)s」を登録しました。") % {"name": org.name})
        return redirect("parties:organisation_list")
    return render(
        request,
        "parties/organisation_list.html",
        {"organisations": Organisation.objects.all(), "form": form},
    )


@require_safe
@policy(ALL_ROLES, description="契約の一覧")
def contract_list(request):
    contracts = contracts_for(request.user).select_related("ward", "contractor")
    return render(
        request,
        "parties/contract_list.html",
        {"contracts": contracts, "can_create": permits(contract_create, request.user)},
    )


@policy(WARD_ADMINS, description="契約の登録")
def contract_create(request):
    form = ContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.create_contract(ward=request.user.organisation, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_to_messages(form, exc)
        else:
            messages.success(
                request, _("契約「%(title)s」を登録しました。") % {"title": contract.title}
            )
            return redirect("parties:contract_detail", code=contract.code)
    return render(request, "parties/contract_form.html", {"form": form})


@policy(WARD_ADMINS, description="契約の変更")
def contract_edit(request, code):
    contract = contract_for(request.user, code)
    form = ContractForm(request.POST or None, instance=contract)
    form.fields["code"].disabled = True
    form.fields["contractor"].disabled = True  # the parties of a contract never change
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        services.update_contract(contract, **changed)
        messages.success(request, _("契約を変更しました。"))
        return redirect("parties:contract_detail", code=contract.code)
    return render(request, "parties/contract_form.html", {"form": form, "contract": contract})


def _contract_page(request, contract, form: DesignationForm | None):
    rows = roster(contract)
    for row in rows:
        # Why a person may not work on the contract now (S18), shown beside their name.
        row["problems"] = (
            qualification_problems(row["person"]) if not row["designation"].ended_at else []
        )
    cards: dict[int, list[IdCard]] = {}
    for card in id_cards_for(request.user).filter(designation__contract=contract):
        card.status = card_status(card)
        cards.setdefault(card.designation_id, []).append(card)
    for row in rows:
        row["cards"] = cards.get(row["designation"].pk, [])
        row["has_valid_card"] = any(card.status == "valid" for card in row["cards"])
    return render(
        request,
        "parties/contract_detail.html",
        {
            "contract": contract,
            "rows": rows,
            "form": form,
            "can_edit": permits(contract_edit, request.user),
            "can_issue_cards": permits(id_card_issue, request.user),
            "can_print_roster": permits(roster_pdf_download, request.user),
        },
    )


@require_safe
@policy(ALL_ROLES, description="契約の詳細と担当者")
def contract_detail(request, code):
    contract = contract_for(request.user, code)
    can_designate = permits(designation_create, request.user)
    return _contract_page(
        request, contract, DesignationForm(contract=contract) if can_designate else None
    )


@require_POST
@policy(ORGANISATION_ADMINS, description="担当者の指定")
def designation_create(request, code):
    contract = contract_for(request.user, code)
    form = DesignationForm(request.POST, contract=contract)
    if form.is_valid():
        try:
            services.designate(contract=contract, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_to_messages(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("担当者を指定しました。"))
            return redirect("parties:contract_detail", code=contract.code)
    return _contract_page(request, contract, form)


@require_POST
@policy(ORGANISATION_ADMINS, description="担当者の指定解除")
def designation_end(request, code, pk):
    contract = contract_for(request.user, code)
    designation = get_object_or_404(Designation, pk=pk, contract=contract)
    try:
        services.end_designation(designation, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(person)s の指定を解除しました。") % {"person": designation.person}
        )
    return redirect("parties:contract_detail", code=contract.code)


def _role_choices_for(user):
    allowed = assignable_roles(user)
    return [(r.value, r.label) for r in Role if r in allowed]


@policy(ORGANISATION_ADMINS, description="利用者の一覧と登録")
def person_list(request):
    form = PersonForm(request.POST or None)
    form.fields["role"].choices = _role_choices_for(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.create_person(
                organisation=request.user.organisation, **form.cleaned_data
            )
        except ValidationError as exc:
            _form_errors_to_messages(form, exc)
        except IntegrityError:
            form.add_error("username", _("このユーザー名はすでに使われています。"))
        else:
            messages.success(
                request, _("利用者「%(person)s」を登録しました。") % {"person": person}
            )
            return redirect("parties:person_list")
    now = timezone.now()
    people = [
        (person, account_state(person, now))
        for person in people_for(request.user).order_by("username")
    ]
    return render(request, "parties/person_list.html", {"people": people, "form": form})


@policy(ORGANISATION_ADMINS, description="利用者の編集")
def person_detail(request, pk):
    person = get_object_or_404(people_for(request.user), pk=pk)
    initial = {"full_name": person.full_name, "role": person.role, "is_active": person.is_active}
    form = PersonEditForm(request.POST or None, initial=initial)
    form.fields["role"].choices = _role_choices_for(request.user) + (
        [(person.role, person.get_role_display())]
        if person.role not in dict(_role_choices_for(request.user))
        else []
    )
    if request.method == "POST" and form.is_valid():
        if person == request.user and not form.cleaned_data["is_active"]:
            form.add_error("is_active", _("自分自身を無効にすることはできません。"))
        else:
            services.update_person(person, **form.cleaned_data)
            messages.success(request, _("利用者を更新しました。"))
            return redirect("parties:person_detail", pk=person.pk)
    staff = person.role in CONTRACTOR_ROLES and permits(staff_training, request.user)
    return render(
        request,
        "parties/person_detail.html",
        {
            "person": person,
            "form": form,
            "has_device": account_services.confirmed_device(person) is not None,
            "locked": account_services.is_locked(person),
            "staff": staff,
            **(_staff_context(person) if staff else {}),
        },
    )


def _staff_context(person) -> dict:
    return {
        "trainings": list(person.trainings.select_related("by")),
        "pledges": list(person.pledges.select_related("by").defer("scan")),
        "has_photo": StaffPhoto.objects.filter(person=person).exists(),
        "problems": qualification_problems(person),
        "training_form": TrainingForm(),
        "pledge_form": PledgeForm(),
        "photo_form": PhotoForm(),
    }


@require_POST
@policy(ORGANISATION_ADMINS, description="二要素認証の再設定")
def person_reset_second_factor(request, pk):
    person = get_object_or_404(people_for(request.user), pk=pk)
    account_services.reset_second_factor(person, by=request.user)
    messages.success(
        request,
        _(
            "%(person)s の二要素認証を再設定しました。次回サインイン時に本人が新しい"
            "パスワードを設定してから登録し直します。"
        )
        % {"person": person},
    )
    return redirect("parties:person_detail", pk=person.pk)


@require_POST
@policy(ORGANISATION_ADMINS, description="ロックの解除")
def person_unlock(request, pk):
    person = get_object_or_404(people_for(request.user), pk=pk)
    account_services.unlock(person)
    messages.success(request, _("%(person)s のロックを解除しました。") % {"person": person})
    return redirect("parties:person_detail", pk=person.pk)


# --- Training, pledges, photos (S18) and ID cards (C-O3) of the contractor's people -----


def _staff_for(request, person_id: int):
    """A person of the manager's own organisation (404 for anyone else's)."""
    return get_object_or_404(people_for(request.user), pk=person_id)


def _messages_from(request, form, exc: ValidationError | None = None) -> None:
    problems = list(exc.messages) if exc is not None else []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        problems += [f"{label}: {e}" if label else str(e) for e in errors]
    messages.error(request, " ".join(problems))


@require_POST
@policy(CONTRACTOR_ADMINS, description="研修受講の記録")
def staff_training(request, person_id: int):
    person = _staff_for(request, person_id)
    form = TrainingForm(request.POST)
    if not form.is_valid():
        _messages_from(request, form)
    else:
        try:
            services.record_training(person, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _messages_from(request, form, exc)
        else:
            messages.success(request, _("研修の受講を記録しました。"))
    return redirect("parties:person_detail", pk=person.pk)


def _with_memory_uploads(request, limit: int):
    handler = MemoryOnlyUploadHandler(request, limit=limit)
    request.upload_handlers = [handler]
    return handler


def _too_large(request, handler, limit: int) -> bool:
    if handler.too_large:
        messages.error(
            request,
            _("ファイルが大きすぎます(上限 %(mb)d MB)。") % {"mb": limit // (1024 * 1024)},
        )
    return handler.too_large


@policy(CONTRACTOR_ADMINS, description="誓約書の登録")
@csrf_exempt
def staff_pledge(request, person_id: int):
    # The scan stays in memory (never a temporary file): the handler is set before the
    # body is read, and the CSRF check runs after it (csrf_protect below).
    handler = _with_memory_uploads(request, PLEDGE_MAX_BYTES + 64 * 1024)
    return _staff_pledge(request, person_id, handler)


@csrf_protect
@require_POST
def _staff_pledge(request, person_id: int, handler):
    person = _staff_for(request, person_id)
    form = PledgeForm(request.POST, request.FILES)
    if _too_large(request, handler, PLEDGE_MAX_BYTES):
        pass
    elif not form.is_valid():
        _messages_from(request, form)
    else:
        data = form.cleaned_data
        try:
            services.record_pledge(
                person,
                signed_on=data["signed_on"],
                scan=data["scan"],
                on_paper=data["on_paper"],
                by=request.user,
            )
        except ValidationError as exc:
            _messages_from(request, form, exc)
        else:
            messages.success(request, _("誓約書を登録しました。"))
    return redirect("parties:person_detail", pk=person.pk)


@require_safe
@policy(CONTRACTOR_ADMINS, personal_data=True, description="誓約書のスキャンの表示")
def staff_pledge_scan(request, person_id: int, pledge_id: int):
    person = _staff_for(request, person_id)
    pledge = get_object_or_404(Pledge, pk=pledge_id, person=person)
    if not pledge.has_scan:
        raise Http404(_("この誓約書にはスキャンがありません。"))
    data = services.pledge_scan(pledge)
    record("staff.pledge_scan_viewed", obj=pledge, detail={"person": person.username})
    response = HttpResponse(data, content_type=CONTENT_TYPES[pledge.scan_type])
    response["Content-Disposition"] = f'inline; filename="pledge-{pledge.pk}.{pledge.scan_type}"'
    return response


@policy(CONTRACTOR_ADMINS, description="身分証明書の写真の登録")
@csrf_exempt
def staff_photo(request, person_id: int):
    handler = _with_memory_uploads(request, PHOTO_MAX_BYTES + 64 * 1024)
    return _staff_photo(request, person_id, handler)


@csrf_protect
@require_POST
def _staff_photo(request, person_id: int, handler):
    person = _staff_for(request, person_id)
    form = PhotoForm(request.POST, request.FILES)
    if _too_large(request, handler, PHOTO_MAX_BYTES):
        pass
    elif not form.is_valid():
        _messages_from(request, form)
    else:
        try:
            services.set_photo(person, form.cleaned_data["photo"], by=request.user)
        except ValidationError as exc:
            _messages_from(request, form, exc)
        else:
            messages.success(request, _("写真を登録しました。"))
    return redirect("parties:person_detail", pk=person.pk)


@require_safe
@policy(HANDOVER_READERS, description="取扱者名簿(PDF)")
def roster_pdf_download(request, code):
    contract = contract_for(request.user, code)
    data = roster_pdf(contract, roster(contract))
    record("staff.roster_printed", obj=contract, contract=contract, detail={"code": contract.code})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="roster-{contract.code}.pdf"'
    return response


@require_POST
@policy(CONTRACTOR_ADMINS, description="身分証明書・委託証明書の発行")
def id_card_issue(request, code, designation_id: int):
    contract = contract_for(request.user, code)
    designation = get_object_or_404(Designation, pk=designation_id, contract=contract)
    try:
        card = services.issue_id_card(designation, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("身分証明書 %(serial)s を発行しました。") % {"serial": card.serial}
        )
    return redirect("parties:contract_detail", code=contract.code)


def _card_for(request, card_id: int) -> IdCard:
    return get_object_or_404(
        id_cards_for(request.user).filter(
            designation__contract__contractor_id=request.user.organisation_id
        ),
        pk=card_id,
    )


@require_safe
@policy(CONTRACTOR_ADMINS, description="身分証明書・委託証明書(PDF)")
def id_card_pdf_download(request, card_id: int):
    card = _card_for(request, card_id)
    url = request.build_absolute_uri(reverse("parties:id_card_check", args=[card.token]))
    data = id_card_pdf(card, check_url=url, photo=services.photo_bytes(card.designation.person))
    record(
        "staff.id_card_printed",
        obj=card,
        contract=card.designation.contract,
        detail={"serial": card.serial},
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="id-card-{card.serial}.pdf"'
    return response


@require_POST
@policy(CONTRACTOR_ADMINS, description="身分証明書・委託証明書の失効")
def id_card_revoke(request, card_id: int):
    card = _card_for(request, card_id)
    try:
        services.revoke_id_card(card, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("身分証明書 %(serial)s を失効させました。") % {"serial": card.serial}
        )
    return redirect("parties:contract_detail", code=card.designation.contract.code)


@require_safe
@policy(CARD_CHECKERS, description="身分証明書の照合(二次元コードの読み取り先)")
def id_card_check(request, token: str):
    card = card_by_token(request.user, token)
    status = card_status(card) if card is not None else "unknown"
    record(
        "staff.id_card_checked",
        object_type="parties.idcard",
        object_id=card.pk if card else "",
        contract=card.designation.contract if card else "",
        detail={"serial": card.serial if card else None, "status": status},
    )
    return render(request, "parties/id_card_check.html", {"card": card, "status": status})
