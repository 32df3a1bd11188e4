from django.http import Http404


def upload(request, school_pk: int):
    raise Http404
