"""django-ninja names the OpenAPI components by class name: two schema classes of one name in
two modules leave one of them out of /api/v1/openapi.json (the calendar's `WeekOut` hid the
coverage's). Every schema class of ours has its own name."""

from collections import defaultdict

from ninja import Schema

from jiafang.api.api import api


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_schema_class_names_are_unique():
    api.get_openapi_schema()  # imports every router's module
    modules: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("jiafang."):
            modules[cls.__name__].add(cls.__module__)
    assert {name: found for name, found in modules.items() if len(found) > 1} == {}
