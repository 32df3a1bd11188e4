"""Login, logout, password change and the personal settings page (API tokens)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiafang.accounts.forms import ChangePasswordForm, LoginForm, TokenCreateForm
from jiafang.accounts.models import AccessToken
from jiafang.accounts.services import token_create, token_revoke
from jiafang.schools.scoping import access_for


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def lockout_response(request, credentials, *args, **kwargs):
    """What django-axes answers on lockout: the login page with a calm explanation (429)."""
    return render(request, "accounts/login.html", {"form": LoginForm(request), "locked_out": True},
                  status=429)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = ChangePasswordForm

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("密码已修改。"))
        return response

    def get_success_url(self):
        return "/"


@require_http_methods(["GET", "POST"])
def settings_page(request):
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _token, raw = token_create(user=request.user, name=form.cleaned_data["name"])
        # post/redirect/get: a refresh must not create another token; shown once, then gone
        request.session["new_token"] = raw
        return redirect("accounts:settings")
    new_token = request.session.pop("new_token", None) if request.method == "GET" else None
    tokens = AccessToken.objects.filter(user=request.user)
    roles = request.user.roles.select_related("bureau", "school", "school_class")
    return render(request, "accounts/settings.html", {
        "form": form, "tokens": tokens, "new_token": new_token, "roles": roles,
        "access": access_for(request.user),
    })


@require_POST
def token_revoke_view(request, token_id: int):
    try:
        token_revoke(user=request.user, token_id=token_id)
    except AccessToken.DoesNotExist:
        from django.http import Http404

        raise Http404 from None
    messages.success(request, _("令牌已撤销。"))
    return redirect("accounts:settings")
