"""Proximity (R18 就近原则): a teacher's families grouped so that one trip covers neighbours.

Pure functions over `Family` rows (no queries). A family's group key is its street and community
("遥观镇·塘桥社区"), else — when neither is known but coordinates are — the cell of about one
kilometre it lies in ("≈31.78,119.96"), else "" (location unknown). Groups are listed by key
(families of one street next to each other), the unknown group last; inside a group, families
with coordinates come first in nearest-neighbour order (start at the south-western one, then
always the closest not yet visited), then the others by family code.

Group keys name a place: they are contacts (`scoping.can_see_contacts`). Pages show users who
may not see contacts a neutral "第 N 组" instead (`group_label`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

from jiafang.schools.models import Family

T = TypeVar("T")
UNKNOWN = ""
CELL_PREFIX = "≈"


def group_key(family: Family) -> str:
    street, community = family.street.strip(), family.community.strip()
    if street or community:
        return "·".join(part for part in (street, community) if part)
    if family.latitude is not None and family.longitude is not None:
        return f"{CELL_PREFIX}{float(family.latitude):.2f},{float(family.longitude):.2f}"
    return UNKNOWN


def _distance(a: Family, b: Family) -> float:
    """Equirectangular distance (good enough inside a town), in degrees of latitude."""
    lat_a, lat_b = float(a.latitude), float(b.latitude)
    dx = (float(a.longitude) - float(b.longitude)) * math.cos(math.radians((lat_a + lat_b) / 2))
    return math.hypot(lat_a - lat_b, dx)


# Nearest-neighbour ordering costs n² distances: above this group size (a whole school not yet
# drafted, all in one place) families are ordered by a ~100 m cell instead (1,500 families took
# 1.1 s the other way).
NEAREST_NEIGHBOUR_MAX = 200


def _nearest_neighbour(items: list[T], family_of: Callable[[T], Family]) -> list[T]:
    if not items:
        return []
    remaining = sorted(items, key=lambda i: (float(family_of(i).latitude),
                                             float(family_of(i).longitude), family_of(i).pk))
    if len(remaining) > NEAREST_NEIGHBOUR_MAX:
        return sorted(remaining, key=lambda i: (round(float(family_of(i).latitude), 3),
                                                round(float(family_of(i).longitude), 3),
                                                family_of(i).pk))
    route = [remaining.pop(0)]
    while remaining:
        here = family_of(route[-1])
        best = min(range(len(remaining)),
                   key=lambda k: (_distance(here, family_of(remaining[k])),
                                  family_of(remaining[k]).pk))
        route.append(remaining.pop(best))
    return route


def arrange(items: Iterable[T], family_of: Callable[[T], Family] = lambda item: item
            ) -> list[tuple[str, list[T]]]:
    """[(group key, items in visiting order)], groups by key with the unknown group last."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(group_key(family_of(item)), []).append(item)
    result = []
    for key in sorted(groups, key=lambda k: (k == UNKNOWN, k.startswith(CELL_PREFIX), k)):
        located: list[T] = []
        others: list[T] = []
        for item in groups[key]:
            family = family_of(item)
            has_place = family.latitude is not None and family.longitude is not None
            (located if has_place else others).append(item)
        others.sort(key=lambda i: (family_of(i).code, family_of(i).pk))
        result.append((key, _nearest_neighbour(located, family_of) + others))
    return result


def group_label(key: str, position: int, *, show_place: bool) -> str:
    """What a page shows for a group: the place for those who may see contacts, else a number
    (`position` counts from 1 in the teacher's list)."""
    from django.utils.translation import gettext as _

    if key == UNKNOWN:
        return _("位置未知")
    if not show_place:
        return _("第 %(n)s 组") % {"n": position}
    if key.startswith(CELL_PREFIX):
        return _("坐标 %(cell)s 附近") % {"cell": key.removeprefix(CELL_PREFIX)}
    return key
