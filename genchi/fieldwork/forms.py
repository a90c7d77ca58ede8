from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from genchi.core.outcomes import Outcome

from .forbidden import validate_free_text
from .models import Seen, SurveyCase, Visit
from .services import visit_problems


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


# --- The visit (issue 15 item 1): the office form, in the order met at the door ----------


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files in one input; each is checked by the photo pipeline, not here."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


def _radio(choices, label, **kwargs):
    return forms.ChoiceField(label=label, choices=choices, widget=forms.RadioSelect, **kwargs)


class VisitForm(forms.Form):
    """One visit, as the surveyor reports it (by phone, or a handler's correction). Asks
    only what J4 and the practice need (S3); the rules are `services.visit_problems`."""

    visited_at = forms.DateTimeField(
        label=_("訪問日時"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    position_source = _radio(
        Visit.PositionSource.choices, _("位置の取得方法"), initial=Visit.PositionSource.NONE
    )
    lat = forms.DecimalField(label=_("緯度"), required=False, max_digits=9, decimal_places=6)
    lng = forms.DecimalField(label=_("経度"), required=False, max_digits=10, decimal_places=6)
    accuracy_m = forms.IntegerField(
        label=_("位置の精度(m)"), required=False, min_value=0, max_value=100000
    )
    building_type = _radio(Visit.BuildingType.choices, _("建物の種類"))
    nameplate = _radio(Visit.Nameplate.choices, _("表札"))
    mailbox_name = _radio(Visit.Nameplate.choices, _("郵便受けの名前"))
    mail_piled = _radio(Seen.choices, _("郵便物の溜まり"), initial=Seen.UNKNOWN)
    electricity = _radio(Visit.Meter.choices, _("電気メーター"), initial=Visit.Meter.UNKNOWN)
    gas = _radio(Visit.Meter.choices, _("ガスメーター"), initial=Visit.Meter.UNKNOWN)
    water = _radio(Visit.Meter.choices, _("水道メーター"), initial=Visit.Meter.UNKNOWN)
    lights = _radio(Seen.choices, _("照明"), initial=Seen.UNKNOWN)
    washing = _radio(Seen.choices, _("洗濯物"), initial=Seen.UNKNOWN)
    curtains = _radio(Seen.choices, _("カーテン"), initial=Seen.UNKNOWN)
    vacancy_signs = _radio(Seen.choices, _("空き家の兆候"), initial=Seen.UNKNOWN)
    answered = forms.TypedChoiceField(
        label=_("応答"),
        choices=[("yes", _("あり")), ("no", _("なし"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    interviewee = _radio(Visit.Interviewee.choices, _("面談の相手"), initial=Visit.Interviewee.NONE)
    interview = forms.CharField(
        label=_("面談の内容"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("聞いた事実だけを中立的な表現で書きます。思想・信条・病歴などは書きません。"),
    )
    contact_slip = _radio(Visit.ContactSlip.choices, _("連絡票"))
    tenure = _radio(Visit.Tenure.choices, _("持ち家・賃貸"), initial=Visit.Tenure.UNKNOWN)
    landlord_name = forms.CharField(label=_("大家・管理会社の名称"), required=False, max_length=100)
    landlord_phone = forms.RegexField(
        label=_("大家・管理会社の電話番号"),
        required=False,
        max_length=20,
        regex=r"^[0-9０-９()\-ー+ ]{6,20}$",
        error_messages={"invalid": _("電話番号は数字とハイフンで入力してください。")},
    )
    photos = MultiplePhotoField(
        label=_("写真"),
        required=False,
        help_text=_(
            "JPEG・PNG(HEIC は不可)、1枚 15 MB・1回 6 枚まで。位置などの埋め込み情報は消して暗号化して保管します。"
        ),
    )
    outcome = _radio(Outcome.choices, _("調査結果(この訪問まで)"))
    needs_revisit = forms.BooleanField(label=_("再訪問が必要"), required=False)
    notes = forms.CharField(
        label=_("メモ"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("調査に必要な事実だけを書きます。"),
    )

    # The free-text fields of a visit: every one goes through _check_free_text.
    FREE_TEXT = ("interview", "notes")

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case

    def _check_free_text(self, name: str, value: str) -> str:
        """The one place free text of a visit is checked before it is kept: the S5 guard
        refuses forbidden categories (the words and why, at the field) and logs the
        attempt without the text."""
        value = value.strip()
        if value:
            validate_free_text(
                name,
                value,
                obj=self.case,
                contract=getattr(self.case, "contract", None),
                form=type(self).__name__,
            )
        return value

    def clean_interview(self):
        return self._check_free_text("interview", self.cleaned_data["interview"])

    def clean_notes(self):
        return self._check_free_text("notes", self.cleaned_data["notes"])

    def clean(self):
        data = super().clean()
        for field, reason in visit_problems(data).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, reason)
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("確認"), choices=[("approve", _("承認")), ("send_back", _("差し戻し"))]
    )
    reason = forms.CharField(
        label=_("差し戻しの理由"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
