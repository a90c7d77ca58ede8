from django.shortcuts import redirect
from django.urls import reverse

from genchi.audit.chain import record

from .denied import render_denied
from .policy import policy_of


class PolicyMiddleware:
    """Enforces each view's declared policy before the view runs (D2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        declared = policy_of(view_func)
        if declared is None:
            record("access.denied", detail={"path": request.path, "reason": "no_policy"})
            return render_denied(request, "このページにはアクセス方針が定められていません。")
        if declared.public:
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.path}")
        if getattr(user, "must_change_password", False) and declared.needs_second_factor:
            # A password an administrator knows opens nothing but the page that replaces it.
            return redirect("accounts:new_password")
        if declared.needs_second_factor and not user.is_verified():
            return redirect("accounts:second_factor")
        if not user.role or user.organisation_id is None:
            record("access.denied", detail={"path": request.path, "reason": "no_role"})
            return render_denied(
                request,
                "役割または所属組織が登録されていません。区の管理者に連絡してください。",
            )
        if not declared.allows(user):
            record(
                "access.denied",
                detail={"path": request.path, "reason": "role", "role": user.role},
            )
            return render_denied(request, "このページを表示する権限がありません。")
        return None
