from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from jiafang.accounts.services import user_set_password


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("用户名或手机号"), max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username",
                                      "autocapitalize": "none"}),
    )
    error_messages = {
        "invalid_login": _("用户名/手机号或密码不正确。"),
        "inactive": _("用户名/手机号或密码不正确。"),
    }


class ChangePasswordForm(PasswordChangeForm):
    def save(self, commit=True):
        user_set_password(user=self.user, password=self.cleaned_data["new_password1"])
        return self.user


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("令牌名称"), max_length=60,
                           widget=forms.TextInput(attrs={"placeholder": _("例如：班级统计脚本")}))
