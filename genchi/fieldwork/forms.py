from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .models import SurveyCase


class QuickSelect(forms.Select):
    """A plain select (no option groups) joined in Python: the city filter can list
    hundreds of options, and the widget templates cost a tenth of the case list's time
    at 500 cases (docs/performance.md)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(key), mark_safe(" selected") if str(key) == chosen else "", label)  # noqa: S308 - a constant
                for key, label in self.choices
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            options,
        )


class CaseFilterForm(forms.Form):
    contract = forms.ChoiceField(label=_("契約"), required=False, widget=QuickSelect)
    pref = forms.ChoiceField(label=_("都道府県"), required=False, widget=QuickSelect)
    city = forms.ChoiceField(label=_("市区町村"), required=False, widget=QuickSelect)
    status = forms.ChoiceField(
        label=_("状態"),
        required=False,
        choices=[("", _("すべて")), *SurveyCase.Status.choices],
        widget=QuickSelect,
    )
    surveyor = forms.ChoiceField(label=_("調査員"), required=False, widget=QuickSelect)
    q = forms.CharField(
        label=_("案件番号・氏名"),
        required=False,
        max_length=100,
        help_text=_("案件番号は前方一致、氏名は完全一致(空白は無視)で探します。"),
    )

    def __init__(self, *args, contracts, prefs, cities, surveyors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].choices = [("", _("すべて"))] + [
            (c.code, c.title) for c in contracts
        ]
        self.fields["pref"].choices = [("", _("すべて"))] + [(p, p) for p in prefs]
        self.fields["city"].choices = [("", _("すべて"))] + [(c, c) for c in cities]
        if surveyors:
            self.fields["surveyor"].choices = [
                ("", _("すべて")),
                ("none", _("未割当")),
                *[(str(p.pk), str(p)) for p in surveyors],
            ]
        else:
            del self.fields["surveyor"]  # a surveyor sees only their own cases


class AssignForm(forms.Form):
    surveyor = forms.ChoiceField(label=_("割り当てる調査員"), required=False, widget=QuickSelect)

    def __init__(self, *args, surveyors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["surveyor"].choices = [("", _("割当を外す"))] + [
            (str(p.pk), str(p)) for p in surveyors
        ]


class PositionForm(forms.Form):
    """A position for a case the address engine placed no further than the prefecture:
    a corrected address, or latitude and longitude."""

    address = forms.CharField(
        label=_("住所(書き直し)"),
        required=False,
        max_length=200,
        help_text=_(
            "都道府県から書いてください。受領した住所は変わりません(位置の判定だけに使います)。"
        ),
    )
    lat = forms.DecimalField(
        label=_("緯度"),
        required=False,
        max_digits=9,
        decimal_places=6,
        help_text=_("例: 35.693825"),
    )
    lng = forms.DecimalField(
        label=_("経度"),
        required=False,
        max_digits=9,
        decimal_places=6,
        help_text=_("例: 139.703356"),
    )

    def clean(self):
        data = super().clean()
        if (
            not (data.get("address") or "").strip()
            and data.get("lat") is None
            and data.get("lng") is None
        ):
            raise forms.ValidationError(_("住所か、緯度と経度を入力してください。"))
        return data
