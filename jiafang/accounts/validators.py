"""Password rules beyond Django's: context words always; composition only when switched on."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CONTEXT_WORDS = ["jiafang", "家访", "大家访", "changzhou", "常州", "经开区", "school", "学校"]


class ContextWordsValidator:
    """Rejects passwords built on the product's, district's or school's names (ASVS 6.2.11)."""

    def _words(self) -> list[str]:
        from django_scopes import scopes_disabled

        from jiafang.schools.models import Bureau, School

        words = list(CONTEXT_WORDS)
        with scopes_disabled():
            words += [name for name in School.objects.values_list("name", flat=True)]
        words += list(Bureau.objects.values_list("name", flat=True))
        return [w.lower() for w in words if len(w) >= 2]

    def validate(self, password, user=None):
        lowered = password.lower()
        for word in self._words():
            if word in lowered and len(word) * 2 >= len(password) - 4:
                raise ValidationError(
                    _("密码不能以产品、学校或地区名称为主要内容。"), code="password_context_word"
                )

    def get_help_text(self):
        return _("密码不能以产品、学校或地区名称为主要内容。")


class CompositionValidator:
    """等保 2.0 composition rule (upper, lower, digit, symbol: three of four). Off by default."""

    def validate(self, password, user=None):
        if not settings.PASSWORD_COMPOSITION_RULES:
            return
        classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^\w]"))
        if classes < 3:
            raise ValidationError(
                _("密码需包含大写字母、小写字母、数字、符号中的至少三类。"), code="password_composition"
            )

    def get_help_text(self):
        if settings.PASSWORD_COMPOSITION_RULES:
            return _("密码需包含大写字母、小写字母、数字、符号中的至少三类。")
        return ""
