"""Checking and cleaning images customers upload (review photos, return photos): any app's customer pages use it.

Photos (JPEG, PNG, WebP, recognised by their content, never by their name) are decoded and
encoded again with Pillow: what is stored is pixels only, turned upright, at most `PHOTO_MAX_SIDE`
pixels wide or high, without EXIF (camera, GPS position), XMP or text chunks. An image that
declares more than `PHOTO_MAX_PIXELS` pixels is refused before it is decoded (a decompression
bomb: a few kilobytes that unpack to gigabytes).
"""

import hashlib
import struct
import warnings
from dataclasses import dataclass
from io import BytesIO

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MB = 1024 * 1024
PHOTO_MAX_BYTES = 10 * MB
PHOTO_MAX_PIXELS = 40_000_000  # a 48 MP phone photo is ~48M; 40M leaves room for all common cameras but few
PHOTO_MAX_SIDE = 2048

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class UploadRefused(Exception):
    """A file we do not store; the message names the file and the problem, in the customer's language."""


@dataclass(frozen=True)
class PreparedFile:
    kind: str  # "photo", or another kind an app checks itself (reviews: "video")
    content: bytes
    content_type: str
    sha256: str  # of the bytes as uploaded
    original_name: str
    width: int | None = None
    height: int | None = None


def megabytes(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def read_limited(upload: UploadedFile, limit: int, what: str) -> bytes:
    name = upload.name or ""
    if upload.size is not None and upload.size > limit:
        raise UploadRefused(
            _("“%(name)s” is %(size)s MB; %(what)s can be up to %(limit)s MB.")
            % {"name": name, "size": megabytes(upload.size), "what": what, "limit": megabytes(limit)}
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(_("“%(name)s” is larger than %(limit)s MB.") % {"name": name, "limit": megabytes(limit)})
    if not data:
        raise UploadRefused(_("“%s” is empty.") % name)
    return data


def photo_prepare(upload: UploadedFile, *, max_bytes: int = PHOTO_MAX_BYTES) -> PreparedFile:
    """The photo re-encoded without metadata, or UploadRefused saying why (type, size, unreadable, too many pixels)."""
    name = (upload.name or "")[:200]
    raw = read_limited(upload, max_bytes, _("photos"))
    not_a_photo = UploadRefused(_("“%s” is not a JPEG, PNG or WebP photo.") % name)
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns first; here any sign of one refuses the file.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(raw)) as opened:
                if opened.format not in PHOTO_FORMATS:
                    raise not_a_photo
                photo_format = opened.format
                width, height = opened.size
                if width * height > PHOTO_MAX_PIXELS:
                    raise UploadRefused(
                        _("“%(name)s” has %(pixels)d megapixels; photos can have up to %(limit)d.")
                        % {"name": name, "pixels": width * height // 1_000_000, "limit": PHOTO_MAX_PIXELS // 1_000_000}
                    )
                opened.load()
                image = ImageOps.exif_transpose(opened)
                content = _encode(image, photo_format)
                width, height = image.size
    except UploadRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise not_a_photo from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError):
        raise UploadRefused(_("“%s” could not be read as a photo; it may be damaged.") % name) from None
    return PreparedFile(
        kind="photo",
        content=content,
        content_type=PHOTO_FORMATS[photo_format],
        sha256=hashlib.sha256(raw).hexdigest(),
        original_name=name,
        width=width,
        height=height,
    )


def _encode(image: Image.Image, photo_format: str) -> bytes:
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha and photo_format != "JPEG" else "RGB")
    # Pixels only: nothing the camera or an editor wrote travels on (EXIF, GPS, XMP, ICC, text chunks).
    image.info = {}
    out = BytesIO()
    if photo_format == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, exif=b"")
    elif photo_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85, exif=b"")
    return out.getvalue()


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A form field for several files at once (photos of a review or a return): a list of uploads, each checked."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        # super() with its arguments: a comprehension is a function of its own (no zero-argument form).
        return [super(MultipleFileField, self).clean(file, initial) for file in files if file]  # noqa: UP008
