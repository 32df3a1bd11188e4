"""The upload form, and an upload handler that keeps the file in memory (no temporary files)."""

from io import BytesIO

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jiafang.roster.models import RosterUpload


def max_upload_mb() -> int:
    return settings.ROSTER_MAX_UPLOAD_BYTES // (1024 * 1024)


class InMemoryRosterUploadHandler(FileUploadHandler):
    """Streams an upload into memory up to ROSTER_MAX_UPLOAD_BYTES, never to a temporary file
    (SECURITY E8: Django's default spools files over FILE_UPLOAD_MAX_MEMORY_SIZE to disk).

    The limit is for the whole request, and a request holds one file: a bigger upload stops
    (the rest of the body is read and dropped, memory stays bounded) and sets `too_big`, so the
    view can answer 413; a second file stops it before a byte of that file is kept and sets
    `too_many` (400). Without this, one request could have 100 files of 10 MB buffered.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.too_big = False
        self.too_many = False
        self.files = 0
        self.buffer = BytesIO()
        self.received = 0  # bytes of all the files in the request

    def new_file(self, *args, **kwargs):
        self.files += 1
        if self.files > 1:
            self.too_many = True
            raise StopUpload(connection_reset=False)
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.ROSTER_MAX_UPLOAD_BYTES:
            self.too_big = True
            self.buffer = BytesIO()
            raise StopUpload(connection_reset=False)
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer, field_name=self.field_name, name=self.file_name,
            content_type=self.content_type, size=file_size, charset=self.charset,
            content_type_extra=self.content_type_extra)


class UnreadBodyUploadHandler(FileUploadHandler):
    """For an upload refused before its body was read: the body is never parsed. (Django's 404
    page runs the CSRF check, which would read the multipart body with the default handlers;
    it finds no form data instead, and the answer is the same 404.)"""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        return QueryDict(), MultiValueDict()

    def receive_data_chunk(self, raw_data, start):  # pragma: no cover - never reached
        return None

    def file_complete(self, file_size):  # pragma: no cover - never reached
        return None


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("名册类型"), choices=RosterUpload.Kind.choices,
                             initial=RosterUpload.Kind.STUDENTS, widget=forms.RadioSelect)
    file = forms.FileField(label=_("名册文件"), max_length=200,
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.ROSTER_MAX_UPLOAD_BYTES:
            raise ValidationError(gettext("文件超过 %(mb)s MB 上限。") % {"mb": max_upload_mb()})
        if not upload.size:
            raise ValidationError(gettext("文件是空的。"))
        return upload
