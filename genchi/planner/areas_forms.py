from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .areas_services import DEFAULT_PARAMS
from .models import SurveyorBase


class BaseForm(forms.Form):
    """One base: the office's (person empty) or a surveyor's own."""

    person = forms.ChoiceField(label=_("誰の拠点か"), required=False)
    kind = forms.ChoiceField(label=_("種別"), choices=SurveyorBase.Kind.choices)
    label = forms.CharField(
        label=_("名称"),
        required=False,
        max_length=100,
        help_text=_("例: 本社、JR中野駅。住所から求めるときは空欄でも構いません。"),
    )
    address = forms.CharField(
        label=_("住所"),
        required=False,
        max_length=200,
        help_text=_("都道府県から。市区町村まで判定できれば、その位置を使います。"),
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

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", _("事務所(全員の既定の拠点)"))] + [
            (str(p.pk), str(p)) for p in people
        ]
        self.people = {str(p.pk): p for p in people}

    def clean(self):
        data = super().clean()
        address = (data.get("address") or "").strip()
        if not address and data.get("lat") is None and data.get("lng") is None:
            raise forms.ValidationError(_("住所か、緯度と経度を入力してください。"))
        return data

    def person_obj(self):
        return self.people.get(self.cleaned_data.get("person") or "")


class ProposeForm(forms.Form):
    expected_revisits = forms.DecimalField(
        label=_("1件あたりの再訪問の見込み(回)"),
        min_value=0,
        max_value=5,
        decimal_places=2,
        initial=DEFAULT_PARAMS["expected_revisits"],
        help_text=_("不在による再訪問の見込み。担当の負担の釣り合いにだけ使います。"),
    )
    visit_minutes = forms.IntegerField(
        label=_("1回の訪問にかかる時間(分)"),
        min_value=1,
        max_value=240,
        initial=DEFAULT_PARAMS["visit_minutes"],
    )
    trip_after_minutes = forms.IntegerField(
        label=_("出張にする片道の移動時間(分)"),
        min_value=30,
        max_value=600,
        initial=DEFAULT_PARAMS["trip_after_minutes"],
        help_text=_("どの拠点からもこれより遠い案件は、出張(連続した日)にまとめます。"),
    )

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "expected_revisits": float(data["expected_revisits"]),
            "visit_minutes": data["visit_minutes"],
            "trip_after_minutes": data["trip_after_minutes"],
        }
