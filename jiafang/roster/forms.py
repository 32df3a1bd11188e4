"""The upload form, and an upload handler that keeps the file in memory (no temporary files)."""

from io import BytesIO

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jiafang.roster.models import RosterUpload


def max_upload_mb() -> int:
    return settings.ROSTER_MAX_UPLOAD_BYTES // (1024 * 1024)


class InMemoryRosterUploadHandler(FileUploadHandler):
    """Streams an upload into memory up to ROSTER_MAX_UPLOAD_BYTES, never to a temporary file
    (SECURITY E8: Django's default spools files over FILE_UPLOAD_MAX_MEMORY_SIZE to disk).

    A bigger file stops the upload (the rest of the body is read and dropped, memory stays
    bounded) and sets `too_big`, so the view can answer 413 with a clear message.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.too_big = False
        self.buffer = BytesIO()
        self.received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.received = 0

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
