from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from genchi.parties.models import Organisation
from genchi.parties.selectors import contractors_of

from .ledger import MAX_CAPACITY_GB
from .models import Package, StickEvent


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def batch_choice_label(item) -> str:
    """A sealed batch as the export menu names it: code and title, and its case count."""
    count = ngettext("%(n)d 件", "%(n)d 件", item.record_count) % {"n": item.record_count}
    return f"{item.label} — {count}"


class ExportForm(forms.Form):
    batch = forms.TypedChoiceField(label=_("封緘済みの委託バッチ"), coerce=int)
    stick = forms.ModelChoiceField(
        label=_("受け渡しに使うUSBメモリ"),
        queryset=None,
        help_text=_(
            "パッケージを保存するUSBメモリ。台帳と受け渡し票にこの管理番号が記録されます。"
        ),
    )
    delivery = forms.ChoiceField(
        label=_("USBメモリへの入れ方"),
        choices=Package.Delivery.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "Genchi をこのパソコンで動かしていて、USBメモリをこのパソコンに挿している場合だけ、"
            "USBメモリのフォルダに直接書き込めます。"
        ),
    )
    passphrase = forms.CharField(
        label=_("パスワード(任意)"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_(
            "指定するとパスワード方式で暗号化します(12文字以上)。空欄なら受託者の公開鍵で暗号化します。"
        ),
    )
    passphrase2 = forms.CharField(
        label=_("パスワード(確認)"), required=False, widget=forms.PasswordInput
    )

    def __init__(self, *args, batches, sticks, preselect: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(b.key, batch_choice_label(b)) for b in batches]
        # The usual case is one sealed batch and one wiped stick: nothing to choose, and
        # no empty line to choose by mistake.
        self.fields["batch"].choices = (
            choices if len(choices) == 1 else [("", _("選んでください")), *choices]
        )
        if len(batches) == 1:
            self.fields["batch"].initial = batches[0].key
        elif preselect in {b.key for b in batches}:
            self.fields["batch"].initial = preselect  # came from the batch's page
        self.fields["stick"].queryset = sticks
        only = list(sticks[:2])
        if len(only) == 1:
            self.fields["stick"].initial = only[0].pk
            self.fields["stick"].empty_label = None
        else:
            self.fields["stick"].empty_label = _("選んでください")
        if settings.GENCHI_STICK_MOUNTED_HERE:
            self.fields["delivery"].initial = Package.Delivery.FOLDER
        else:  # on a server the stick is in the officer's PC: a download is the only way
            del self.fields["delivery"]

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("passphrase") or "", data.get("passphrase2") or ""
        if p1 != p2:
            self.add_error("passphrase2", _("パスワードが一致しません。"))
        if p1 and len(p1) < 12:
            self.add_error("passphrase", _("パスワードは12文字以上にしてください。"))
        if not data.get("delivery"):
            data["delivery"] = (
                Package.Delivery.FOLDER
                if settings.GENCHI_STICK_MOUNTED_HERE
                else Package.Delivery.DOWNLOAD
            )
        return data


class ImportForm(forms.Form):
    # What the file holds: the side's usual kind first (cases at the contractor, results
    # at the ward), or an incident report from the other side (S19).
    kind = forms.ChoiceField(label=_("パッケージの種類"), choices=(), required=False)
    package = forms.FileField(label=_("パッケージファイル(.genchi.age)"))
    passphrase = forms.CharField(
        label=_("パスワード(パスワード方式の場合)"), required=False, widget=forms.PasswordInput
    )
    giver_name = forms.CharField(
        label=_("渡した区職員の氏名(受け渡し票の記載どおり)"), required=False, max_length=100
    )
    stick_label = forms.CharField(
        label=_("USBメモリの管理番号(受け渡し票の記載どおり)"), required=False, max_length=64
    )
    handed_at = forms.DateTimeField(
        label=_("受け渡し日時(受け渡し票の記載どおり)"),
        required=False,
        widget=DateTimeInput(),
        help_text=_(
            "USBメモリを受け取った日時。空欄なら取り込んだ日時を仮に記録し、票の確認で合わせます。"
        ),
    )

    def __init__(self, *args, kinds: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds or []
        if kinds:
            self.fields["kind"].initial = kinds[0][0]

    def chosen_kind(self) -> str:
        """The kind chosen, or the side's usual one when the form did not say."""
        return self.cleaned_data.get("kind") or self.fields["kind"].choices[0][0]


class ReceiveForm(forms.Form):
    receiver_name = forms.CharField(label=_("受け取った人の氏名"), max_length=100)
    handed_at = forms.DateTimeField(
        label=_("受け渡し日時(USBメモリを手渡した日時)"),
        widget=DateTimeInput(),
        help_text=_("両者の受け渡し票にこの日時が記載されます。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handed_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class ConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("票のQRコードの内容、またはパッケージIDとダイジェスト"),
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
    )
    record_count = forms.IntegerField(label=_("票に記載の件数"), min_value=0)
    handed_at = forms.DateTimeField(label=_("票に記載の受け渡し日時"), widget=DateTimeInput())
    giver_name = forms.CharField(
        label=_("渡した人の氏名(票の記載どおり)"), required=False, max_length=100
    )
    # An unticked box says what to confirm, not Django's 「このフィールドは必須です。」.
    checked_handler = forms.BooleanField(
        label=_("取扱者(渡した者・受け取った者)を確認した"),
        error_messages={
            "required": _(
                "渡した者・受け取った者を確かめて、「取扱者を確認した」にチェックを入れてください。"
            )
        },
    )
    checked_content = forms.BooleanField(
        label=_("内容を確認した"),
        error_messages={
            "required": _(
                "受け取った内容を確かめて、「内容を確認した」にチェックを入れてください。"
            )
        },
    )
    checked_count = forms.BooleanField(
        label=_("件数を確認した"),
        error_messages={
            "required": _("票の件数を確かめて、「件数を確認した」にチェックを入れてください。")
        },
    )


class KeyCreateForm(forms.Form):
    replace = forms.BooleanField(
        label=_("既存の鍵ペアを廃止して作り直す(相手に新しいカードを渡し直す必要があります)"),
        required=False,
    )


class _CardForm(forms.Form):
    """A card given as its file or as the text of its QR code, with the fingerprint read
    out by the partner; subclasses name the card and the key."""

    card_text = forms.CharField(
        label=_("または QR コードを読み取った内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    field_order = ["card", "card_text", "fingerprint", "replace"]

    def clean(self):
        data = super().clean()
        if not data.get("card") and not (data.get("card_text") or "").strip():
            raise forms.ValidationError(_("カードのファイルか、QRコードの内容を指定してください。"))
        return data

    def card_bytes(self) -> bytes:
        """The card as given (call after is_valid())."""
        upload = self.cleaned_data.get("card")
        return upload.read(64 * 1024) if upload else self.cleaned_data["card_text"].strip().encode()


class CardImportForm(_CardForm):
    card = forms.FileField(label=_("相手の公開鍵カード(.json)"), required=False)
    fingerprint = forms.CharField(
        label=_("相手から読み上げられたフィンガープリント(署名鍵)"),
        max_length=100,
        help_text=_("電話や対面で相手と読み合わせた値。カードと一致しなければ登録しません。"),
    )
    replace = forms.BooleanField(label=_("相手の鍵の更新として置き換える"), required=False)


class ContractCardImportForm(_CardForm):
    card = forms.FileField(label=_("相手の契約の受け取り鍵カード(.json)"), required=False)
    fingerprint = forms.CharField(
        label=_("相手から読み上げられたフィンガープリント(受け取り鍵)"),
        max_length=100,
        help_text=_(
            "電話や対面で相手と読み合わせた、カードの受け取り鍵のフィンガープリント。"
            "一致しなければ登録しません。"
        ),
    )
    replace = forms.BooleanField(
        label=_("この契約の相手のカードの更新として置き換える"), required=False
    )


class StickRegisterForm(forms.Form):
    label = forms.SlugField(label=_("管理番号"), max_length=64, help_text=_("例: USB-01"))
    serial = forms.CharField(label=_("製造番号"), max_length=100)
    capacity_gb = forms.IntegerField(label=_("容量(GB)"), min_value=1, max_value=MAX_CAPACITY_GB)
    model_name = forms.CharField(label=_("機種"), max_length=100, required=False)


class LendForm(forms.Form):
    borrower_name = forms.CharField(label=_("借受者の氏名"), max_length=100)
    borrower_org = forms.ModelChoiceField(
        label=_("借受者の組織"), queryset=Organisation.objects.none(), required=False
    )
    due_on = forms.DateField(label=_("返却予定日"), widget=DateInput())
    purpose = forms.CharField(label=_("用途"), max_length=200, required=False)

    def __init__(self, *args, owner: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the contractors this ward has a contract with: a stick never goes elsewhere.
        self.fields["borrower_org"].queryset = contractors_of(owner)


class ReturnForm(forms.Form):
    returned_by_name = forms.CharField(label=_("返却した人の氏名"), max_length=100, required=False)


class InspectForm(forms.Form):
    result = forms.ChoiceField(
        label=_("点検結果"), choices=[("ok", _("異常なし")), ("ng", _("異常あり"))]
    )
    note = forms.CharField(label=_("備考"), max_length=300, required=False)


class WipeForm(forms.Form):
    # The recommended method first and chosen: the page says file overwriting alone is
    # not enough for flash storage (NIST SP 800-88).
    method = forms.ChoiceField(
        label=_("消去方法"),
        choices=StickEvent.WipeMethod.choices,
        initial=StickEvent.WipeMethod.DEVICE_SECURE_ERASE,
    )
    performed_by = forms.CharField(label=_("実施者の氏名"), max_length=100, required=False)
    note = forms.CharField(label=_("備考"), max_length=300, required=False)
