"""Who may schedule, change and record visits, on top of the scoping layer (R1, R8, R23).

Lookups answer 404 when the user may not even see the family (out of scope looks missing) and
403 (PermissionDenied) when they may see it but not act:

- schedule a visit to a family, and confirm / reschedule / decline / cancel its visits: the head
  teacher of any enrolled child's class at the family's school, and the school's principal and
  coordinator (the lead of a visit may also change its appointment);
- record a visit, amend its record and keep a draft of it: the lead and the companions
  (同行教师) of that visit — those who were there;
- write the visit's preparation notes: the lead and the companions; read them (and the
  prepared profile): those too, and those who may change the visit.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from jiafang.accounts.models import User
from jiafang.schools import scoping
from jiafang.schools.models import Family
from jiafang.visits import selectors
from jiafang.visits.models import Visit


def _enrolled_class_ids(family: Family) -> set[int]:
    return {child.school_class_id for child in selectors.visit_children(family)}


def can_schedule_visit(user: User, family: Family) -> bool:
    if family.school_id in scoping.access_for(user).managed_school_ids:
        return True  # without reading the children
    return may_schedule_in(user, school_id=family.school_id,
                           class_ids=_enrolled_class_ids(family))


def may_schedule_in(user: User, *, school_id: int, class_ids) -> bool:
    """The rule of `can_schedule_visit` for a family whose children's classes are already
    loaded (lists): the school's leaders, or the head teacher of one of those classes."""
    access = scoping.access_for(user)
    return (school_id in access.managed_school_ids
            or not access.head_class_ids.isdisjoint(class_ids))


def can_schedule_in_class(user: User, school_class) -> bool:
    """Whether the user may schedule visits to the families of this class (roster links)."""
    return may_schedule_in(user, school_id=school_class.school_id, class_ids={school_class.pk})


def can_change_visit(user: User, visit: Visit) -> bool:
    """Confirm, reschedule, decline, cancel."""
    return visit.lead_id == user.pk or can_schedule_visit(user, visit.family)


def can_record_visit(user: User, visit: Visit) -> bool:
    """The lead and the companions: those who visit the family (no query when the visit's
    `companions` are prefetched, as lists do)."""
    return visit.lead_id == user.pk or any(c.user_id == user.pk for c in visit.companions.all())


def get_family_for_schedule(user: User, pk: object) -> Family:
    family = scoping.get_family_for_user(user, pk)
    if not can_schedule_visit(user, family):
        raise PermissionDenied
    return family


def get_visit_for_change(user: User, pk: object) -> Visit:
    visit = selectors.get_visit_for_user(user, pk)
    if not can_change_visit(user, visit):
        raise PermissionDenied
    return visit


def get_visit_for_record(user: User, pk: object) -> Visit:
    visit = selectors.get_visit_for_user(user, pk)
    if not can_record_visit(user, visit):
        raise PermissionDenied
    return visit


# --- preparation (家访准备, R11, R23.1) -------------------------------------------------------
# Written by those who visit (lead and companions); read also by those who may change the visit
# (the school's principal and coordinator, the head teacher of any enrolled child's class).
# Anyone else who sees the visit gets 403: the notes and the earlier records' key points are
# for the people preparing and running the visit.

def can_write_preparation(user: User, visit: Visit) -> bool:
    return can_record_visit(user, visit)


def can_read_preparation(user: User, visit: Visit) -> bool:
    return can_record_visit(user, visit) or can_change_visit(user, visit)


def get_visit_for_preparation(user: User, pk: object, *, write: bool = False) -> Visit:
    """The visit whose preparation the user may read (or write): 404 out of scope, 403 when
    the visit is seen but its preparation is not theirs."""
    visit = selectors.get_visit_for_user(user, pk)
    allowed = can_write_preparation(user, visit) if write else can_read_preparation(user, visit)
    if not allowed:
        raise PermissionDenied
    return visit
