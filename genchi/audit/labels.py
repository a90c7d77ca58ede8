"""Japanese names of logged actions, for the auditor's page. Unknown codes show as they are."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "signin.password_ok": _("パスワード確認"),
    "signin.success": _("サインイン"),
    "signin.failed": _("サインイン失敗"),
    "signin.locked": _("アカウントのロック"),
    "signin.refused_locked": _("ロック中のサインイン拒否"),
    "signin.refused_inactive": _("無効な利用者のサインイン拒否"),
    "signout": _("サインアウト"),
    "session.expired": _("無操作によるサインアウト"),
    "mfa.enrolled": _("二要素認証の登録"),
    "mfa.reset": _("二要素認証の再設定"),
    "account.unlocked": _("ロック解除"),
    "access.denied": _("アクセス拒否"),
    "http.csrf_failure": _("不正な送信の拒否"),
    "http.bad_request": _("不正なリクエスト"),
    "audit.viewed": _("監査ログの閲覧"),
    "organisation.created": _("組織の登録"),
    "organisation.updated": _("組織の変更"),
    "contract.created": _("契約の登録"),
    "contract.updated": _("契約の変更"),
    "designation.created": _("担当者の指定"),
    "designation.ended": _("担当者の指定解除"),
    "person.created": _("利用者の登録"),
    "person.updated": _("利用者の変更"),
    "vault.master_rotated": _("マスター鍵の更新"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
