"""`{% rate visited total %}`: "12/40 30%" as the coverage pages show it. A tag rather than an
included template: the bureau page shows three per school, and 600 includes cost ~20 ms."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def rate(visited: int, total: int) -> str:
    percent = round(visited / total * 100) if total else 0
    return format_html('<span class="rate">{}/{} <span class="muted small">{}%</span></span>',
                       visited, total, percent)
