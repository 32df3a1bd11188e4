from django import template

from jiafang.visits.permissions import can_schedule_in_class

register = template.Library()


@register.simple_tag(takes_context=True)
def may_schedule_visits(context, school_class) -> bool:
    """Whether the signed-in user may schedule visits to this class's families (roster links)."""
    return can_schedule_in_class(context["request"].user, school_class)
