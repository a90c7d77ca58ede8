"""Menu entries per role. Only links the role's policy allows are shown."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.urls import NoReverseMatch, resolve, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from genchi.access.policy import policy_of
from genchi.access.roles import CONTRACTOR_OFFICE, ORGANISATION_ADMINS, WARD_WRITERS, has_role


@dataclass(frozen=True)
class MenuEntry:
    url_name: str
    label: str
    description: str = ""
    # The home tile promises changes only to those who may make them (`writers`);
    # everyone else who may open the page reads `reader_description`.
    reader_description: str = ""
    writers: Collection[str] = ()

    def description_for(self, user) -> str:
        if self.writers and not has_role(user, self.writers):
            return self.reader_description
        return self.description


# Menu labels carry the context "menu": in English they are short plurals ("Cases"),
# where the same Japanese word elsewhere is a singular column or field name ("Case").
MENU: list[MenuEntry] = [
    MenuEntry("web:home", pgettext_lazy("menu", "ホーム")),
    MenuEntry(
        "intake:case_list",
        pgettext_lazy("menu", "案件"),
        _("取り込んだ調査対象の一覧と修正"),
        _("取り込んだ調査対象の一覧"),
        WARD_WRITERS,
    ),
    MenuEntry(
        "intake:import_start",
        pgettext_lazy("menu", "対象者の取込"),
        _("税システムの一覧(CSV・Excel)を取り込む"),
    ),
    MenuEntry(
        "intake:batch_list",
        pgettext_lazy("menu", "委託バッチ"),
        _("委託する案件を選び、封緘する"),
        _("委託バッチの一覧と内容"),
        WARD_WRITERS,
    ),
    MenuEntry(
        "transfer:package_list",
        pgettext_lazy("menu", "受け渡し"),
        _("暗号化パッケージと受け渡し票"),
    ),
    MenuEntry(
        "results:index",
        pgettext_lazy("menu", "調査結果"),
        _("受託者から戻った調査結果の集計と書き出し"),
        _("調査結果の集計"),
        WARD_WRITERS,
    ),
    MenuEntry(
        "fieldwork:case_list",
        pgettext_lazy("menu", "調査案件"),
        _("受領した案件の一覧と調査員への割当"),
    ),
    MenuEntry(
        "planner:areas_index",
        pgettext_lazy("menu", "担当地域"),
        _("調査員ごとの担当地域の案、拠点、確定と割当"),
    ),
    MenuEntry(
        "planner:plan_index",
        pgettext_lazy("menu", "訪問計画"),
        _("調査員ごとの訪問日と順路(地図)"),
    ),
    MenuEntry(
        "tablet:devices",
        pgettext_lazy("menu", "タブレット"),
        _("調査員のタブレットの登録と失効"),
    ),
    MenuEntry(
        "transfer:usb_list",
        pgettext_lazy("menu", "USBメモリ台帳"),
        _("USBメモリの貸出・返却・消去"),
        _("USBメモリの台帳と記録"),
        WARD_WRITERS,
    ),
    MenuEntry(
        "parties:contract_list",
        pgettext_lazy("menu", "契約"),
        _("委託契約と担当者の指定"),
        _("委託契約と担当者"),
        ORGANISATION_ADMINS,
    ),
    MenuEntry("parties:organisation_list", pgettext_lazy("menu", "組織"), _("区と受託事業者")),
    MenuEntry(
        "parties:person_list",
        pgettext_lazy("menu", "利用者"),
        _("利用者の登録と二要素認証の再設定"),
    ),
    MenuEntry(
        "compliance:incident_list",
        pgettext_lazy("menu", "事故報告"),
        _("紛失・漏えい等の報告と区の指示"),
        _("事故報告と経過"),
        WARD_WRITERS | CONTRACTOR_OFFICE,
    ),
    MenuEntry(
        "compliance:log", pgettext_lazy("menu", "監査ログ"), _("すべての操作の記録と改ざん検査")
    ),
]


def entries_for(user, current_path: str = "") -> list[dict]:
    items = []
    for entry in MENU:
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue  # the app providing it is not installed yet
        declared = policy_of(resolve(url).func)
        if declared is None or not declared.allows(user):
            continue
        items.append(
            {
                "url": url,
                "label": entry.label,
                "description": entry.description_for(user),
                "current": url == current_path,
                "name": entry.url_name,
            }
        )
    return items
