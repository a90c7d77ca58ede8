"""The follow-up section of the ward's case page (registered with intake.panels): the
contacts after the contact slip, and the form to enter one by hand."""

from __future__ import annotations

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from genchi.results import selectors as results_selectors

from . import selectors, services


def follow_up_panel(request, case) -> SafeString | None:
    contract = case.contract
    if case.ref not in results_selectors.result_facts(contract):
        return None  # follow-up starts with the survey's result
    from .views import ContactForm

    form = None
    if services.may_write(request.user, contract):
        form = ContactForm(initial={"case_ref": case.ref, "next": request.path})
        form.fields["case_ref"].widget = forms.HiddenInput()  # the case of this page
    return render_to_string(
        "evaluation/_case_follow_up.html",
        {
            "contract": contract,
            "case": case,
            "contacts": selectors.contacts_of(contract, case.ref),
            "form": form,
        },
        request=request,
    )
