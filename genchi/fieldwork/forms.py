from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SurveyCase


class CaseFilterForm(forms.Form):
    contract = forms.ChoiceField(label=_("契約"), required=False)
    pref = forms.ChoiceField(label=_("都道府県"), required=False)
    city = forms.ChoiceField(label=_("市区町村"), required=False)
    status = forms.ChoiceField(
        label=_("状態"), required=False, choices=[("", _("すべて")), *SurveyCase.Status.choices]
    )
    surveyor = forms.ChoiceField(label=_("調査員"), required=False)
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
    surveyor = forms.ChoiceField(label=_("割り当てる調査員"), required=False)

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
