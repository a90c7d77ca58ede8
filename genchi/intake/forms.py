from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .columns import IGNORE, REQUIRED_FIELDS, field_choices, map_columns, normalise_header
from .models import Case
from .reader import MAX_FILE_BYTES
from .services import PRIORITIES

ENCODING_CHOICES = [
    ("", _("自動判別")),
    ("utf-8", _("UTF-8")),
    ("cp932", _("Shift_JIS(CP932)")),
]
LEVEL_CHOICES = [
    ("", _("すべて")),
    ("3", _("町字まで特定(3)")),
    ("low", _("要修正(町字未特定)")),
    ("2", _("市区町村まで(2)")),
]


class ImportUploadForm(forms.Form):
    contract = forms.ModelChoiceField(label=_("契約"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("対象者一覧ファイル"),
        help_text=_("CSV(UTF-8 または Shift_JIS)か Excel(.xlsx)。1 行目が見出しです。"),
    )
    encoding = forms.ChoiceField(
        label=_("文字コード(CSV)"), choices=ENCODING_CHOICES, required=False
    )
    sheet = forms.CharField(
        label=_("シート名(Excel)"),
        required=False,
        max_length=100,
        help_text=_("空欄なら最初のシートを読みます。"),
    )
    preset = forms.ModelChoiceField(
        label=_("保存した列の対応"),
        queryset=None,
        required=False,
        empty_label=_("使わない(見出しで自動判別)"),
    )

    def __init__(self, *args, contracts, presets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts
        self.fields["preset"].queryset = presets
        self.fields["file"].widget.attrs["accept"] = ".csv,.txt,.xlsx"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("ファイルが大きすぎます。"))
        return upload


class MappingForm(forms.Form):
    """One choice per column of the file's header."""

    save_as = forms.CharField(
        label=_("この対応を名前を付けて保存する"),
        required=False,
        max_length=100,
        help_text=_("次回から取込画面で選べます(空欄なら保存しません)。"),
    )

    def __init__(self, *args, header: list[str], current: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        auto = map_columns(header, current)
        choices = [
            (name, _("%(field)s(必須)") % {"field": label} if name in REQUIRED_FIELDS else label)
            for name, label in field_choices()
        ]
        by_index = {index: field for field, index in auto.by_field.items()}
        for index, title in enumerate(header):
            key = normalise_header(title)
            initial = current.get(key) or by_index.get(index) or "_ignore"
            # Not "required" as a field: every column has a choice (取り込まない by default),
            # and what must be chosen is 氏名 and 住所, marked in the choices (issue 13).
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=title or _("(空の見出し)"),
                choices=choices,
                initial=initial,
                required=False,
            )
        self.order_fields([f"col_{i}" for i in range(len(header))] + ["save_as"])

    def mapping(self) -> dict[str, str]:
        return {
            normalise_header(title): self.cleaned_data.get(f"col_{index}") or IGNORE
            for index, title in enumerate(self.header)
        }

    def clean(self):
        data = super().clean()
        chosen = [data.get(f"col_{i}") for i in range(len(self.header))]
        picked = [c for c in chosen if c and c != "_ignore"]
        if len(picked) != len(set(picked)):
            raise forms.ValidationError(_("同じ項目を複数の列に対応させることはできません。"))
        for required in ("name", "address"):
            if required not in picked:
                raise forms.ValidationError(_("氏名と住所の列は必ず指定してください。"))
        return data


class CommitForm(forms.Form):
    exclude_errors = forms.BooleanField(
        label=_("エラーのある行を除外して、残りを登録する"), required=False
    )


def area_choices(cities_by_pref: dict[str, list[str]], pref: str = "", city: str = ""):
    """(prefecture choices, city choices): the cities of `pref` once one is chosen (each
    once). Before that the city list is empty (the page's script fills it as soon as a
    prefecture is picked), but for a city already asked for, so it stays chosen."""
    everyone = [("", _("すべて"))]
    prefs = everyone + [(p, p) for p in cities_by_pref]
    if pref in cities_by_pref:
        cities = everyone + [(c, c) for c in cities_by_pref[pref]]
    elif city and any(city in cs for cs in cities_by_pref.values()):
        cities = [*everyone, (city, city)]
    else:
        cities = everyone
    return prefs, cities


class AreaFieldsMixin:
    """Prefecture and city selects that follow each other: a city left over from another
    prefecture (a form sent without script after changing the prefecture) is dropped
    rather than refused."""

    def _set_area_choices(self, cities_by_pref: dict[str, list[str]]) -> None:
        pref = self.data.get(self.add_prefix("pref"), "") if self.is_bound else ""
        if self.is_bound and pref in cities_by_pref:
            city_key = self.add_prefix("city")
            if self.data.get(city_key) and self.data[city_key] not in cities_by_pref[pref]:
                self.data = self.data.copy()
                self.data[city_key] = ""
        self.cities_by_pref = cities_by_pref
        self.city_map_id = self.add_prefix("city-map")
        city = self.data.get(self.add_prefix("city"), "") if self.is_bound else ""
        prefs, cities = area_choices(cities_by_pref, pref, city)
        self.fields["pref"].choices = prefs
        self.fields["city"].choices = cities
        # genchi.js refills the city list when the prefecture changes (no request).
        self.fields["city"].widget.attrs.update(
            {"data-follows": self["pref"].auto_id, "data-cities": self.city_map_id}
        )


class CaseFilterForm(AreaFieldsMixin, forms.Form):
    q = forms.CharField(
        label=_("検索"),
        required=False,
        max_length=100,
        help_text=_("氏名・宛名番号(完全一致)、参照番号(先頭から)"),
    )
    contract = forms.ChoiceField(label=_("契約"), required=False)
    status = forms.ChoiceField(
        label=_("状態"), required=False, choices=[("", _("すべて")), *Case.Status.choices]
    )
    pref = forms.ChoiceField(label=_("都道府県"), required=False)
    city = forms.ChoiceField(
        label=_("市区町村"), required=False, help_text=_("都道府県を選ぶと選べます。")
    )
    level = forms.ChoiceField(label=_("住所の判定"), required=False, choices=LEVEL_CHOICES)

    def __init__(self, *args, contracts, cities_by_pref: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].choices = [("", _("すべて"))] + [
            (c.code, c.title) for c in contracts
        ]
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("例: 山田太郎 / 1001 / 7741-0012")}
        )
        self._set_area_choices(cities_by_pref)


class AddressForm(forms.Form):
    candidate = forms.ChoiceField(label=_("住所の候補"), required=False, widget=forms.RadioSelect)
    address = forms.CharField(label=_("住所"), max_length=200)
    building_line = forms.CharField(label=_("方書"), max_length=100, required=False)
    postal_code = forms.CharField(
        label=_("郵便番号"),
        max_length=16,
        required=False,
        help_text=_("空欄なら住所から補います。"),
    )

    def __init__(self, *args, candidates: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        if candidates:
            self.fields["candidate"].choices = [("", _("使わない(入力した住所のまま)"))] + list(
                candidates
            )
        else:
            del self.fields["candidate"]


class BatchCreateForm(forms.Form):
    contract = forms.ModelChoiceField(label=_("契約"), queryset=None, empty_label=None)
    title = forms.CharField(label=_("名称"), max_length=200, required=False)
    priority = forms.ChoiceField(
        label=_("優先順位の基準"), choices=[(k, v) for k, v in PRIORITIES.items()]
    )

    def __init__(self, *args, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts
        self.fields["contract"].label_from_instance = lambda contract: contract.title


class BatchFillForm(AreaFieldsMixin, forms.Form):
    pref = forms.ChoiceField(label=_("都道府県"), required=False)
    city = forms.ChoiceField(
        label=_("市区町村"), required=False, help_text=_("都道府県を選ぶと選べます。")
    )
    min_level = forms.ChoiceField(
        label=_("住所の判定"),
        choices=[("3", _("町字まで特定できた案件のみ")), ("0", _("すべて"))],
        initial="3",
    )
    limit = forms.IntegerField(
        label=_("追加する件数"), required=False, min_value=1, help_text=_("空欄なら上限まで")
    )

    def __init__(self, *args, cities_by_pref: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self._set_area_choices(cities_by_pref)
