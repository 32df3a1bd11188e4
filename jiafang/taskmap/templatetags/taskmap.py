from django import template

from jiafang.taskmap.selectors import may_have_visit_tasks

register = template.Library()


@register.simple_tag(takes_context=True)
def has_visit_tasks(context) -> bool:
    """Whether to link "我的家访任务": the signed-in user holds a role at a school."""
    return may_have_visit_tasks(context["request"].user)
