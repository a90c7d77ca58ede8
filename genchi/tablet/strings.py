"""The tablet app's words, translated by Django (the .po files) and handed to the app as
a JSON catalogue at /tablet/strings.json; the app itself holds no text of its own."""

from django.utils.translation import gettext_lazy as _

STRINGS = {
    "app_title": _("現地調査タブレット"),
    "loading": _("読み込み中…"),
    "enrol_title": _("この端末を登録する"),
    "enrol_help": _(
        "事務所で取扱責任者に次のコードを伝え、「タブレット」の画面で確認してもらってください。"
    ),
    "enrol_start": _("登録を始める"),
    "enrol_waiting": _("事務所での確認を待っています…"),
    "enrol_expired": _("登録コードの有効期限が切れました。もう一度始めてください。"),
    "enrol_done": _("登録されました。"),
    "signin_title": _("事務所でサインイン"),
    "signin_help": _(
        "調査員のIDとパスワードを入力してください。この端末の鍵による署名も送られます。"
    ),
    "username": _("ID"),
    "password": _("パスワード"),
    "signin": _("サインイン"),
    "pin_set_title": _("暗証番号(PIN)を決める"),
    "pin_set_help": _("現地でこの端末を開くための6桁以上の数字です。誰にも教えないでください。"),
    "pin": _("暗証番号"),
    "pin_again": _("暗証番号(確認)"),
    "pin_mismatch": _("2回の入力が一致しません。"),
    "pin_too_short": _("6桁以上の数字にしてください。"),
    "pin_save": _("決定"),
    "unlock_title": _("ロック中"),
    "unlock_help": _("暗証番号を入力してください。"),
    "unlock": _("開く"),
    "pin_wrong": _("暗証番号が違います。あと %(n)s 回間違えると、この端末のデータは消去されます。"),
    "wiped": _("この端末の調査データは消去されました。事務所で登録からやり直してください。"),
    "wiped_pin": _(
        "暗証番号を5回間違えたため、この端末の調査データを消去しました。事務所でサインインし、同期し直してください。"
    ),
    "lease_expired": _("利用期限が切れました。事務所で同期するまでデータは開けません。"),
    "sync": _("事務所で同期"),
    "sync_done": _("同期しました。"),
    "sync_failed": _("同期できませんでした。"),
    "offline": _("オフライン"),
    "online": _("オンライン"),
    "today": _("今日の訪問先"),
    "no_cases": _("割り当てられた案件はありません。"),
    "case": _("案件"),
    "name": _("氏名"),
    "postal_code": _("郵便番号"),
    "address": _("住所"),
    "building_line": _("方書"),
    "status": _("状態"),
    "visits": _("訪問回数"),
    "back": _("一覧へ戻る"),
    "lock": _("ロック"),
    "lease_until": _("利用期限"),
    "last_sync": _("最終同期"),
    "hidden": _("画面は隠されています"),
    "masked_help": _("氏名は案件を開くまで隠されています。"),
    "surveyor": _("調査員"),
    "error": _("エラーが起きました。"),
    "records_damaged": _(
        "この端末の記録のうち %(n)s 件が改ざんまたは破損していたため、読み込みませんでした。事務所で同期してください。"
    ),
    "route_title": _("今日の順路"),
    "map_title": _("順路の地図"),
    "map_help": _("番号は順路の順番です。番号を押すと、その案件を開きます。"),
    "map_stop": _("%(n)s 番目の訪問先(案件 %(ref)s)"),
    "map_unplaced": _("位置が未確定のため地図に出ていない訪問先: %(n)s 件"),
    "map_here": _("現在地を地図に表示"),
    "map_failed": _("地図を表示できませんでした。一覧から案件を開いてください。"),
    "map_attribution": _(
        "境界: japanmap (Apache-2.0)・市区町村名: Geolonia 住所データ (CC BY 4.0)"
    ),
    "other_cases": _("その他の割当案件"),
    "assigned_cases": _("割当案件"),
    "outbox_waiting": _("未送信の訪問が %(n)s 件あります。事務所で同期してください。"),
    "recorded_here": _("記録済み(未送信)"),
    "outcome_so_far": _("これまでの調査結果"),
    "review_reason": _("差し戻しの理由"),
    "slip": _("置いていく連絡票"),
    "visit_new": _("訪問を記録"),
    "position_here": _("現在地を入れる"),
    "photos": _("写真"),
    "photos_taken": _("撮影した写真: %(n)s 枚"),
    "take_photo": _("写真を撮る"),
    "shutter": _("撮影"),
    "camera_failed": _("カメラを使えませんでした。写真はこのアプリのカメラでのみ撮れます。"),
    "visit_save": _("訪問を保存"),
    "cancel": _("やめる"),
    "visit_problems": _("入力に %(n)s か所の問題があります。"),
    "required": _("選んでください。"),
    "visit_saved": _("訪問を暗号化して保存しました。事務所での同期で送信されます。"),
    "sync_up_sent": _("訪問 %(n)s 件を送信しました。"),
    "sync_up_invalid": _(
        "%(n)s 件の訪問は入力の規則に合わないため送信できませんでした。開いて直してください。"
    ),
}
