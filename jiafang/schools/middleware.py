"""Opens the django-scopes scope of the request: the schools the user has any role in."""

from django_scopes import scope

from jiafang.schools.scoping import access_for


class ScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        access = access_for(getattr(request, "user", None))
        request.access = access
        with scope(school=sorted(access.school_ids)):
            return self.get_response(request)
