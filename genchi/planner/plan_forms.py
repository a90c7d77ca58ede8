"""Forms of the campaign settings and the re-plan and lock buttons. Errors are Japanese
and stand at the field they are about."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from .campaigns import TRAVEL_MODES
from .models import Campaign

WEEKDAY_CHOICES = [
    (0, _("月")),
    (1, _("火")),
    (2, _("水")),
    (3, _("木")),
    (4, _("金")),
    (5, _("土")),
    (6, _("日")),
]

LIMITS = {
    "visits_per_day": (1, 100),
    "visit_minutes": (1, 720),
    "visits_per_case": (1, 10),
    "gap_days": (0, 365),
    "seconds": (1, 600),
}


class CampaignForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("稼働する曜日"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("稼働する曜日を1つ以上選んでください。")},
    )
    expected_revisits = forms.DecimalField(
        label=_("見込みの追加訪問(件あたり)"),
        min_value=0,
        max_value=10,
        decimal_places=1,
        help_text=_("不在などで増える訪問の見込み(例: 0.5)。担当地域の釣り合いにだけ使います。"),
    )

    class Meta:
        model = Campaign
        fields = [
            "starts_on",
            "ends_on",
            "weekdays",
            "skip_holidays",
            "day_starts_at",
            "day_ends_at",
            "visits_per_day",
            "visit_minutes",
            "travel",
            "visits_per_case",
            "gap_days",
            "other_time",
            "evening_from",
            "expected_revisits",
            "seconds",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "day_starts_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "day_ends_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "evening_from": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "travel": _("車: 時速25km・迂回率1.3、電車と徒歩: 時速18km・迂回率1.2(直線距離から)。"),
            "visits_per_case": _("居住確認の初回訪問と再訪問を合わせた回数(例: 2)。"),
            "other_time": _("再訪問は前回と別の時間帯(平日昼・平日夕方・土日祝)にします。"),
            "seconds": _("計画の作成にかける時間の上限(1〜600秒)。"),
        }

    def __init__(self, *args, contract, **kwargs):
        self.contract = contract
        super().__init__(*args, **kwargs)
        for name, (low, high) in LIMITS.items():
            field = self.fields[name]
            field.widget.attrs.update(min=low, max=high)
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end:
            if end < start:
                self.add_error("ends_on", _("終了日は開始日以降にしてください。"))
            elif (end - start).days > 366:
                self.add_error("ends_on", _("調査期間は1年以内にしてください。"))
        if start and start < self.contract.starts_on:
            self.add_error(
                "starts_on",
                _("契約の履行期間(%(start)s〜)より前には始められません。")
                % {"start": self.contract.starts_on.isoformat()},
            )
        if end and end > self.contract.ends_on:
            self.add_error(
                "ends_on",
                _("契約の履行期間(〜%(end)s)より後には終えられません。")
                % {"end": self.contract.ends_on.isoformat()},
            )
        begins, ends = data.get("day_starts_at"), data.get("day_ends_at")
        if begins and ends and ends != dt.time(0, 0) and ends <= begins:
            self.add_error("day_ends_at", _("終業時刻は始業時刻より後にしてください。"))
        evening = data.get("evening_from")
        weekdays = set(data.get("weekdays") or ())
        if (
            data.get("other_time")
            and (data.get("visits_per_case") or 1) > 1
            and evening
            and ends
            and ends != dt.time(0, 0)
            and ends <= evening
            and not weekdays & {5, 6}
        ):
            self.add_error(
                "evening_from",
                _(
                    "再訪問を別の時間帯にするには、終業時刻を夕方(この時刻)より後にするか、"
                    "土日を稼働日に含めてください。"
                ),
            )
        if data.get("travel") and data["travel"] not in TRAVEL_MODES:
            self.add_error("travel", _("移動手段を選んでください。"))
        return data


class ReplanForm(forms.Form):
    from_date = forms.DateField(
        label=_("再計画する最初の日"), widget=forms.DateInput(attrs={"type": "date"})
    )


class LockForm(forms.Form):
    case_ref = forms.CharField(max_length=32)
    lock = forms.BooleanField(required=False)
