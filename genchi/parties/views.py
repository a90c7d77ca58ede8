from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import ALL_ROLES, ORGANISATION_ADMINS, WARD_ADMINS, assignable_roles
from genchi.accounts import services as account_services
from genchi.accounts.models import Role
from genchi.accounts.selectors import account_state, people_for
from genchi.parties.selectors import contract_for, contracts_for

from . import services
from .forms import ContractForm, DesignationForm, OrganisationForm, PersonEditForm, PersonForm
from .models import Designation, Organisation


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
    designations = contract.designations.select_related("person", "by")
    return render(
        request,
        "parties/contract_detail.html",
        {
            "contract": contract,
            "designations": designations,
            "form": form,
            "can_edit": permits(contract_edit, request.user),
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
    return render(
        request,
        "parties/person_detail.html",
        {
            "person": person,
            "form": form,
            "has_device": account_services.confirmed_device(person) is not None,
            "locked": account_services.is_locked(person),
        },
    )


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
