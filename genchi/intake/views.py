"""Intake pages: import with preview, cases, address correction, batches (ward only)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST, require_safe

from genchi.access.policy import permits, policy
from genchi.access.roles import WARD_READERS, WARD_WRITERS, has_role
from genchi.audit.chain import record
from genchi.core.formulas import neutralise_formula
from genchi.core.uploads import MemoryOnlyUploadHandler
from genchi.core.wareki import WarekiError, fiscal_year_label
from genchi.geo import normalize
from genchi.geo.maps import MapLayers
from genchi.jobs.outcomes import interrupt_if_stale

from . import selectors, services
from .columns import FIELDS, field_label
from .forms import (
    AddressForm,
    BatchCreateForm,
    BatchFillForm,
    CaseFilterForm,
    CommitForm,
    ImportUploadForm,
    MappingForm,
)
from .messages import render as render_parts
from .messages import shown_issue
from .models import Batch, Case, ImportRun
from .panels import case_panels
from .reader import MAX_FILE_BYTES
from .services import ImportOptions

ISSUES_SHOWN = 500
CASES_PER_PAGE = 100
BATCH_ROWS_SHOWN = 1000
BATCH_ROW_FIELDS = (
    "position", "batch_id", "case_id", "case__ref", "case__contract_id", "case__name",
    "case__pref", "case__city", "case__town",
)  # fmt: skip


def _case_ids(request) -> list[int]:
    """The ticked case ids: ASCII digits of a database-sized integer; anything else is ignored."""
    return [
        int(i) for i in request.POST.getlist("case") if i.isascii() and i.isdigit() and len(i) <= 18
    ]


# --- Import ----------------------------------------------------------------------------


@policy(WARD_WRITERS, description="対象者一覧の取込(ファイルの受付)")
@csrf_exempt
def import_start(request):
    handler = MemoryOnlyUploadHandler(request, limit=MAX_FILE_BYTES)
    request.upload_handlers = [handler]
    return _import_start(request, handler)


@csrf_protect
def _import_start(request, handler: MemoryOnlyUploadHandler):
    contracts = selectors.intake_contracts_for(request.user).exclude(status="closed")
    form = ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        contracts=contracts,
        presets=selectors.presets_for(request.user),
    )
    if request.method == "POST" and handler.too_large:
        form.is_valid()
        form.errors["file"] = form.error_class(
            [
                _("ファイルが大きすぎます(上限 %(mb)d MB)。分割して取り込んでください。")
                % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
            ]
        )
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        preset = form.cleaned_data.get("preset")
        run = services.create_run(
            form.cleaned_data["contract"],
            upload.read(),
            filename=upload.name,
            options=ImportOptions(
                encoding=form.cleaned_data["encoding"],
                sheet=form.cleaned_data["sheet"].strip(),
                mapping=preset.mapping if preset else None,
            ),
            user=request.user,
        )
        services.start_check(run, by=request.user)
        return redirect("intake:import_run", run_id=run.pk)
    runs = selectors.import_runs_for(request.user)[:20]
    return render(request, "intake/import_start.html", {"form": form, "runs": runs})


def _busy(run: ImportRun) -> bool:
    """Whether a job of the run is waiting or under way; a run whose worker died is
    marked interrupted here (and its page offers to start it again)."""
    interrupt_if_stale(run)
    return run.job_is_active


@require_safe
@policy(WARD_READERS, personal_data=True, description="取込の検査結果(プレビュー)")
def import_run(request, run_id: int):
    run = selectors.import_run_for(request.user, run_id)
    busy = _busy(run)
    context = {"run": run, "busy": busy, "can_write": permits(import_commit, request.user)}
    if busy:
        return render(request, "intake/import_run.html", context)
    report = services.report_of(run)
    issues = [shown_issue(i) for i in report.get("issues", [])]
    if issues:
        record(
            "intake.import.report_viewed",
            obj=run,
            contract=run.contract,
            detail={"run": run.pk, "issues_shown": min(len(issues), ISSUES_SHOWN)},
        )
    errors = [i for i in issues if i["level"] == "error"]
    duplicates = [i for i in issues if i["level"] == "duplicate"]
    warnings = [i for i in issues if i["level"] == "warning"]
    importable = run.good_rows + run.warning_rows
    context.update(
        {
            "errors": errors[:ISSUES_SHOWN],
            "warnings": warnings[:ISSUES_SHOWN],
            "duplicates": duplicates[:ISSUES_SHOWN],
            "more_errors": max(len(errors) - ISSUES_SHOWN, 0),
            "more_warnings": max(len(warnings) - ISSUES_SHOWN, 0),
            "more_duplicates": max(len(duplicates) - ISSUES_SHOWN, 0),
            # Rows, not issues: a row with two warnings is one row of the tile.
            "warning_row_count": len({i["row"] for i in warnings}),
            "column_problems": [render_parts(p) for p in report.get("column_problems", [])],
            "header": report.get("header", []),
            "commit_form": CommitForm() if run.can_commit else None,
            "can_map": bool(report.get("header")) and run.status != ImportRun.Status.COMMITTED,
            "importable": importable,
            "nothing_to_register": _nothing_to_register(run, importable),
        }
    )
    return render(request, "intake/import_run.html", context)


def _nothing_to_register(run: ImportRun, importable: int) -> str:
    """Why the register button is disabled, in words ("" when it is not)."""
    if importable:
        return ""
    if run.duplicate_rows and not run.error_rows:
        return _(
            "すべての行が重複(登録済みの案件、またはファイル内の別の行と同じ人・同じ住所)"
            "のため、登録するものがありません。"
        )
    if run.error_rows:
        return _("エラーのない行がないため、登録するものがありません。")
    return _("登録できる行がありません。")


@require_safe
@policy(WARD_READERS, description="取込の進み具合(自動更新)")
def import_progress(request, run_id: int):
    run = selectors.import_run_for(request.user, run_id)
    if not _busy(run):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("intake:import_run", kwargs={"run_id": run.pk})
        return response
    return render(request, "intake/_progress.html", {"run": run})


@policy(WARD_WRITERS, description="取込の列の対応を指定")
def import_mapping(request, run_id: int):
    run = selectors.import_run_for(request.user, run_id)
    header = services.report_of(run).get("header", [])
    if not header or run.job_is_active or run.status == ImportRun.Status.COMMITTED:
        messages.error(request, _("この取込の列の対応は変更できません。"))
        return redirect("intake:import_run", run_id=run.pk)
    form = MappingForm(request.POST or None, header=header, current=run.mapping or {})
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        try:
            services.set_run_mapping(run, mapping)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("intake:import_run", run_id=run.pk)
        if form.cleaned_data["save_as"].strip():
            services.save_preset(
                request.user.organisation,
                form.cleaned_data["save_as"],
                mapping,
                user=request.user,
            )
            messages.success(request, _("列の対応を保存しました。"))
        services.start_check(run, by=request.user)
        return redirect("intake:import_run", run_id=run.pk)
    return render(
        request,
        "intake/import_mapping.html",
        {"run": run, "form": form, "fields": [(k, field_label(k)) for k in FIELDS]},
    )


@require_POST
@policy(WARD_WRITERS, description="取込の登録(全件か 0 件)")
def import_commit(request, run_id: int):
    run = selectors.import_run_for(request.user, run_id)
    form = CommitForm(request.POST)
    exclude = form.is_valid() and form.cleaned_data["exclude_errors"]
    try:
        services.start_commit(run, exclude_error_rows=exclude, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("intake:import_run", run_id=run.pk)


@require_POST
@policy(WARD_WRITERS, description="取込の検査(もう一度)")
def import_check(request, run_id: int):
    run = selectors.import_run_for(request.user, run_id)
    try:
        services.start_check(run, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("intake:import_run", run_id=run.pk)


@require_safe
@policy(WARD_READERS, personal_data=True, description="取込のエラー一覧(CSV)")
def import_errors(request, run_id: int):
    """The error report: UTF-8 with BOM for Excel, every cell neutralised against formulas."""
    run = selectors.import_run_for(request.user, run_id)
    report = services.report_of(run)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("行"), _("列"), _("区分"), _("値"), _("理由")])
    kinds = {"error": _("エラー"), "warning": _("警告"), "duplicate": _("重複")}
    for stored in report.get("issues", []):
        issue = shown_issue(stored)
        writer.writerow(
            [
                neutralise_formula(v)
                for v in (
                    issue["row"],
                    issue["column"],
                    kinds.get(issue["level"], issue["level"]),
                    issue["value"],
                    issue["message"],
                )
            ]
        )
    for problem in report.get("column_problems", []):
        writer.writerow(["", "", _("エラー"), "", neutralise_formula(render_parts(problem))])
    message = run.message_text
    if message and not report.get("issues") and not report.get("column_problems"):
        writer.writerow(["", "", _("エラー"), "", neutralise_formula(message)])
    record(
        "intake.import.report_downloaded",
        obj=run,
        contract=run.contract,
        detail={"run": run.pk, "issues": len(report.get("issues", []))},
    )
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors-{stamp}.csv"'
    return response


# --- Cases -----------------------------------------------------------------------------


def _filtered_cases(request):
    contracts = list(selectors.intake_contracts_for(request.user))
    base = selectors.cases_for(request.user)
    facets = selectors.facet_values(base)
    form = CaseFilterForm(
        request.GET or None, contracts=contracts, cities_by_pref=facets.cities_by_pref
    )
    qs = base
    if form.is_valid():
        data = form.cleaned_data
        if data["contract"]:
            qs = qs.filter(contract__code=data["contract"])
        qs = selectors.filter_cases(
            qs, status=data["status"], pref=data["pref"], city=data["city"], level=data["level"]
        )
        if data["q"]:
            qs = selectors.search_cases(qs, data["q"], [c.pk for c in contracts])
    return form, qs, facets


def _page_anchor(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@require_safe
@policy(WARD_READERS, personal_data=True, description="案件の一覧")
def case_list(request):
    form, qs, facets = _filtered_cases(request)
    page = selectors.keyset_page(
        qs,
        size=CASES_PER_PAGE,
        after=_page_anchor(request, "after"),
        before=_page_anchor(request, "before"),
    )
    cases = page.items
    selectors.log_case_list_view(cases, {c.contract.code for c in cases}, view="case_list")
    query = request.GET.copy()
    for name in ("after", "before", "page"):
        query.pop(name, None)
    can_add = permits(batch_add_cases, request.user)
    drafts = (
        list(selectors.batches_for(request.user).filter(status=Batch.Status.DRAFT))
        if can_add
        else []
    )
    return render(
        request,
        "intake/case_list.html",
        {
            "form": form,
            "page": page,
            "cases": cases,
            "total": qs.count(),
            "query": query.urlencode(),
            "drafts": drafts,
            "can_write": can_add,
            # Each row's link without a `{% url %}` per row.
            "case_url": reverse("intake:case_detail", args=["-"]).removesuffix("-/"),
        },
    )


def _candidates_for(address: str) -> list[tuple[str, str]]:
    result = normalize(address)
    options = []
    for c in result.candidates[:10]:
        text = f"{c.pref}{c.city}{c.town}"
        options.append((text, text))
    return options


def _address_form(case: Case, data=None) -> AddressForm:
    initial = {
        "address": case.address,
        "building_line": case.building_line,
        "postal_code": case.postal_code,
    }
    return AddressForm(data, initial=initial, candidates=_candidates_for(case.address))


def _tax_year_text(year) -> str:
    """「令和4年度」 for 2022; a year before the eras this knows stays a number."""
    if not isinstance(year, int):
        return ""
    try:
        return fiscal_year_label(year)
    except WarekiError:
        return _("%(y)d 年度") % {"y": year}


def _case_page(request, case: Case, form: AddressForm | None):
    """The case page, with the address form when given (each showing is logged)."""
    selectors.log_case_view(case)
    try:
        notes = json.loads(case.ward_notes) if case.ward_notes else {}
    except ValueError:
        notes = {}
    tax_year, amount = notes.get("tax_year"), notes.get("amount_owed")
    location = MapLayers()
    location.marker(case.lat, case.lng, label=f"{case.pref}{case.city}{case.town}")
    return render(
        request,
        "intake/case_detail.html",
        {
            "case": case,
            "form": form,
            "notes": notes,
            "tax_year": _tax_year_text(tax_year),
            "amount": f"{amount:,}" if isinstance(amount, int) else "",
            "batches": list(case.batches.select_related("contract")),
            "location": location if not location.empty else None,
            "panels": case_panels(request, case),
        },
    )


@require_safe
@policy(WARD_READERS, personal_data=True, description="案件の詳細")
def case_detail(request, ref: str):
    case = selectors.case_for(request.user, ref)
    editable = case.status in services.EDITABLE_CASE_STATUSES
    form = _address_form(case) if editable and permits(case_correct_address, request.user) else None
    return _case_page(request, case, form)


@require_POST
@policy(WARD_WRITERS, personal_data=True, description="案件の住所の手修正")
def case_correct_address(request, ref: str):
    case = selectors.case_for(request.user, ref)
    if case.status not in services.EDITABLE_CASE_STATUSES:
        messages.error(request, _("この案件の住所はもう修正できません。"))
        return redirect("intake:case_detail", ref=case.ref)
    form = _address_form(case, request.POST)
    if form.is_valid():
        address = form.cleaned_data["address"]
        chosen = form.cleaned_data.get("candidate")
        if chosen:
            address = chosen + (case.rest or "")
        try:
            services.correct_address(
                case,
                address=address,
                building_line=form.cleaned_data["building_line"],
                postal_code=form.cleaned_data["postal_code"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("住所を修正しました。"))
            return redirect("intake:case_detail", ref=case.ref)
    return _case_page(request, case, form)


# --- Batches ---------------------------------------------------------------------------


def _batch_list_page(request, form: BatchCreateForm | None):
    batches = selectors.batches_for(request.user).order_by("-created_at")
    return render(request, "intake/batch_list.html", {"batches": batches, "form": form})


def _batch_create_form(request, data=None) -> BatchCreateForm:
    return BatchCreateForm(data, contracts=selectors.intake_contracts_for(request.user))


@require_safe
@policy(WARD_READERS, description="委託バッチの一覧")
def batch_list(request):
    form = _batch_create_form(request) if permits(batch_create, request.user) else None
    return _batch_list_page(request, form)


@require_POST
@policy(WARD_WRITERS, description="委託バッチの作成")
def batch_create(request):
    form = _batch_create_form(request, request.POST)
    if form.is_valid():
        batch = services.create_batch(
            form.cleaned_data["contract"],
            title=form.cleaned_data["title"],
            priority=form.cleaned_data["priority"],
            user=request.user,
        )
        messages.success(request, _("%(b)s を作成しました。") % {"b": batch.label})
        return redirect("intake:batch_detail", batch_id=batch.pk)
    return _batch_list_page(request, form)


def _fill_form(batch: Batch, data=None) -> BatchFillForm:
    facets = selectors.facet_values(selectors.contract_cases(batch.contract))
    return BatchFillForm(data, prefix="fill", cities_by_pref=facets.cities_by_pref)


def _batch_page(request, batch: Batch, fill_form: BatchFillForm | None = None):
    # Only what the table shows (a batch holds up to the contract's maximum, 500 by
    # default): two encrypted fields per case, and each link built without `{% url %}`.
    items = list(
        batch.items.select_related("case")
        .only(*BATCH_ROW_FIELDS)
        .order_by("position")[:BATCH_ROWS_SHOWN]
    )
    cases = [item.case for item in items]
    case_url = reverse("intake:case_detail", args=["-"]).removesuffix("-/")
    can_write = permits(batch_fill, request.user) and batch.status == Batch.Status.DRAFT
    # The rows are joined here rather than in the template: 500 rows of template
    # lookups took most of the page's time (format_html escapes every value).
    tick = '<td><input type="checkbox" name="case" value="{}" aria-label="{}"></td>'
    rows = format_html_join(
        "\n",
        "<tr>" + (tick if can_write else "{}{}") + '<td>{}</td><td><a href="{}">{}</a></td>'
        '<td class="mono nowrap">{}</td><td>{}{}{}</td></tr>',
        (
            (
                *((item.case_id, item.case.name) if can_write else ("", "")),
                item.position,
                f"{case_url}{item.case.ref}/",
                item.case.name,
                item.case.short_ref,
                item.case.pref,
                item.case.city,
                item.case.town,
            )
            for item in items
        ),
    )
    selectors.log_case_list_view(cases, {batch.contract.code}, view=f"batch:{batch.pk}")
    return render(
        request,
        "intake/batch_detail.html",
        {
            "batch": batch,
            "items": items,
            "rows": rows,
            "fill_form": (fill_form or _fill_form(batch)) if can_write else None,
            "can_write": can_write,
            "eligible": services.eligible_count(batch.contract),
            # The next step of a sealed batch: export it (the handover's page, by URL name).
            "can_export": batch.status == Batch.Status.SEALED
            and has_role(request.user, WARD_WRITERS),
        },
    )


@require_safe
@policy(WARD_READERS, personal_data=True, description="委託バッチの詳細")
def batch_detail(request, batch_id: int):
    return _batch_page(request, selectors.batch_for(request.user, batch_id))


def _back_to_batch(batch: Batch):
    return redirect("intake:batch_detail", batch_id=batch.pk)


def _on_batch(request, batch_id: int, act: Callable[[Batch], str], *, done_url: str = ""):
    """Run one write on the batch: its message when done (then `done_url`, or the batch),
    the service's words when it refuses (then the batch)."""
    batch = selectors.batch_for(request.user, batch_id)
    try:
        text = act(batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back_to_batch(batch)
    messages.success(request, text)
    return redirect(done_url) if done_url else _back_to_batch(batch)


def _added(count: int) -> str:
    return ngettext("%(n)d 件を追加しました。", "%(n)d 件を追加しました。", count) % {"n": count}


@require_POST
@policy(WARD_WRITERS, personal_data=True, description="条件で案件をバッチに追加")
def batch_fill(request, batch_id: int):
    batch = selectors.batch_for(request.user, batch_id)
    form = _fill_form(batch, request.POST)
    if not form.is_valid():
        return _batch_page(request, batch, form)
    data = form.cleaned_data

    def fill(batch: Batch) -> str:
        added = services.fill_by_condition(
            batch,
            pref=data["pref"],
            city=data["city"],
            min_level=int(data["min_level"]),
            limit=data["limit"],
        )
        if not added.count:
            raise ValidationError(_("0 件を追加しました。") + added.reason)
        return _added(added.count)

    return _on_batch(request, batch_id, fill)


@require_POST
@policy(WARD_WRITERS, description="選んだ案件をバッチから外す")
def batch_remove_cases(request, batch_id: int):
    def remove(batch: Batch) -> str:
        removed = services.remove_cases(batch, _case_ids(request))
        return ngettext("%(n)d 件を外しました。", "%(n)d 件を外しました。", removed) % {
            "n": removed
        }

    return _on_batch(request, batch_id, remove)


@require_POST
@policy(WARD_WRITERS, description="バッチの封緘")
def batch_seal(request, batch_id: int):
    def seal(batch: Batch) -> str:
        services.seal_batch(batch, user=request.user)
        return _("バッチを封緘しました。以後は変更できません。")

    return _on_batch(request, batch_id, seal)


@require_POST
@policy(WARD_WRITERS, description="バッチの削除")
def batch_delete(request, batch_id: int):
    def delete(batch: Batch) -> str:
        services.delete_batch(batch)
        return _("バッチを削除しました。")

    return _on_batch(request, batch_id, delete, done_url=reverse("intake:batch_list"))


@require_POST
@policy(WARD_WRITERS, description="選んだ案件をバッチに追加")
def batch_add_cases(request, batch_id: int):
    ids = _case_ids(request)

    def add(batch: Batch) -> str:
        cases = list(selectors.cases_for(request.user, batch.contract).filter(pk__in=ids))
        added = services.add_cases(batch, cases)
        text = ngettext(
            "%(n)d 件をバッチ %(b)s に追加しました。",
            "%(n)d 件をバッチ %(b)s に追加しました。",
            added,
        ) % {"n": added, "b": batch.label}
        if len(ids) > added:
            text += _("%(s)d 件は追加できませんでした(選定済み・上限超過など)。") % {
                "s": len(ids) - added
            }
        return text

    return _on_batch(request, batch_id, add)
