from django import forms
from django.utils.translation import gettext_lazy as _

from genchi.accounts.models import Role

from .models import Contract, Designation, Organisation


class DateInput(forms.DateInput):
    input_type = "date"


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["code", "name", "kind", "home_city"]
        help_texts = {
            "code": _("英数字とハイフン。例: shinjuku-tax"),
            "home_city": _("区の場合のみ。例: 東京都新宿区(この区内の住所は取り込みません)"),
        }


class ContractForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = [
            "code",
            "title",
            "contractor",
            "fiscal_year",
            "starts_on",
            "ends_on",
            "max_cases",
            "amount",
            "status",
            "contact_department",
            "contact_phone",
            "contact_hours",
            "contact_address",
            "slip_wording",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "slip_wording": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contractor"].queryset = Organisation.objects.filter(
            kind=Organisation.Kind.CONTRACTOR
        )

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("終了日は開始日以降にしてください。"))
        return data


class DesignationForm(forms.Form):
    person = forms.ModelChoiceField(label=_("担当者"), queryset=None)
    role = forms.ChoiceField(label=_("担当"), choices=Designation.Role.choices)
    starts_on = forms.DateField(label=_("指定日"), widget=DateInput())
    reported_to_ward_on = forms.DateField(
        label=_("区への報告日"), required=False, widget=DateInput()
    )

    def __init__(self, *args, contract: Contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = contract.contractor.people.filter(is_active=True)


class PersonForm(forms.Form):
    username = forms.RegexField(
        label=_("ユーザー名"),
        regex=r"^[A-Za-z0-9_.-]{3,150}$",
        error_messages={"invalid": _("半角英数字と _ . - で3文字以上にしてください。")},
    )
    full_name = forms.CharField(label=_("氏名"), max_length=100)
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)
    password = forms.CharField(
        label=_("初期パスワード"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "12文字以上。初回サインイン時に本人が自分のパスワードに変更してから、"
            "二要素認証を登録します(この初期パスワードはそれまでしか使えません)。"
        ),
    )


class PersonEditForm(forms.Form):
    full_name = forms.CharField(label=_("氏名"), max_length=100)
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)
    is_active = forms.BooleanField(label=_("有効"), required=False)


class TrainingForm(forms.Form):
    trained_on = forms.DateField(label=_("受講日"), widget=DateInput())
    course = forms.CharField(label=_("研修名"), max_length=200)
    taught_by = forms.CharField(label=_("講師"), max_length=100)
    ordinance_read = forms.BooleanField(label=_("個人情報保護条例を周知した"), required=False)
    provisions_read = forms.BooleanField(label=_("特記事項を周知した"), required=False)


class PledgeForm(forms.Form):
    signed_on = forms.DateField(label=_("誓約日"), widget=DateInput())
    scan = forms.FileField(
        label=_("誓約書のスキャン"),
        required=False,
        help_text=_("PDF・JPEG・PNG、5 MB まで。暗号化して保管します。"),
    )
    on_paper = forms.BooleanField(label=_("署名した紙を事務所で保管している"), required=False)


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("身分証明書の写真"), help_text=_("JPEG・PNG、2 MB まで。暗号化して保管します。")
    )
