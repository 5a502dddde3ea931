"""Checking and cleaning what customers upload with a review: photos and short videos.

Photos (JPEG, PNG, WebP, recognised by their content, never by their name) are decoded and
encoded again with Pillow: what is stored is pixels only, turned upright, at most `PHOTO_MAX_SIDE`
pixels wide or high, without EXIF (camera, GPS position), XMP or text chunks. An image that
declares more than `PHOTO_MAX_PIXELS` pixels is refused before it is decoded (a decompression
bomb: a few kilobytes that unpack to gigabytes).

Videos (MP4) are not re-encoded: the container is walked box by box (it must be an MP4 with a
movie header and media data, no longer than `VIDEO_MAX_SECONDS`), and the metadata boxes
(`udta`, `meta`: where phones write the recording place) are renamed to `free`, which players
skip, so no location leaves the shop and no offset moves.
"""

import hashlib
import struct
import warnings
from dataclasses import dataclass
from io import BytesIO

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MB = 1024 * 1024
PHOTO_MAX_BYTES = 10 * MB
PHOTO_MAX_PIXELS = 40_000_000  # a 48 MP phone photo is ~48M; 40M leaves room for all common cameras but few
PHOTO_MAX_SIDE = 2048
PHOTOS_PER_REVIEW = 5
VIDEO_MAX_BYTES = 30 * MB
VIDEO_MAX_SECONDS = 60
VIDEOS_PER_REVIEW = 1
# The whole form with every file: refused with 413 before it is read.
REQUEST_MAX_BYTES = 80 * MB

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"mmp4", b"dash"}
)


class UploadRefused(Exception):
    """A file we do not store; the message names the file and the problem, in the customer's language."""


@dataclass(frozen=True)
class PreparedFile:
    kind: str  # "photo" | "video"
    content: bytes
    content_type: str
    sha256: str  # of the bytes as uploaded
    original_name: str
    width: int | None = None
    height: int | None = None


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def _read_limited(upload: UploadedFile, limit: int, what: str) -> bytes:
    name = upload.name or ""
    if upload.size is not None and upload.size > limit:
        raise UploadRefused(
            _("“%(name)s” is %(size)s MB; %(what)s can be up to %(limit)s MB.")
            % {"name": name, "size": _megabytes(upload.size), "what": what, "limit": _megabytes(limit)}
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(_("“%(name)s” is larger than %(limit)s MB.") % {"name": name, "limit": _megabytes(limit)})
    if not data:
        raise UploadRefused(_("“%s” is empty.") % name)
    return data


def photo_prepare(upload: UploadedFile) -> PreparedFile:
    """The photo re-encoded without metadata, or UploadRefused saying why (type, size, unreadable, too many pixels)."""
    name = (upload.name or "")[:200]
    raw = _read_limited(upload, PHOTO_MAX_BYTES, _("photos"))
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


# --- video ----------------------------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak"}  # boxes whose children are walked
_METADATA = {b"udta", b"meta"}


def _boxes(data: bytes | bytearray, start: int, end: int):
    """(type, box start, payload start, box end) of the boxes in data[start:end]; ValueError when they do not fit."""
    position = start
    while position < end:
        if end - position < 8:
            raise ValueError("truncated box header")
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:
            if end - position < 16:
                raise ValueError("truncated large box header")
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise ValueError("box does not fit")
        yield kind, position, position + header, position + size
        position += size


def _duration_seconds(data: bytes | bytearray, payload: int, end: int) -> float:
    for kind, _start, body, _box_end in _boxes(data, payload, end):
        if kind == b"mvhd":
            version = data[body]
            if version == 1:
                timescale, duration = struct.unpack(">IQ", data[body + 20 : body + 32])
            else:
                timescale, duration = struct.unpack(">II", data[body + 12 : body + 20])
            if not timescale:
                raise ValueError("no timescale")
            return duration / timescale
    raise ValueError("no movie header")


def _metadata_drop(data: bytearray, start: int, end: int) -> None:
    for kind, box_start, payload, box_end in list(_boxes(data, start, end)):
        if kind in _METADATA:
            data[box_start + 4 : box_start + 8] = b"free"
        elif kind in _CONTAINERS:
            _metadata_drop(data, payload, box_end)


def video_prepare(upload: UploadedFile) -> PreparedFile:
    """The MP4 as sent, metadata boxes blanked, or UploadRefused saying why (type, size, length, damaged)."""
    name = (upload.name or "")[:200]
    raw = _read_limited(upload, VIDEO_MAX_BYTES, _("videos"))
    not_mp4 = UploadRefused(_("“%s” is not an MP4 video.") % name)
    if len(raw) < 16 or raw[4:8] != b"ftyp" or raw[8:12] not in MP4_BRANDS:
        raise not_mp4
    data = bytearray(raw)
    try:
        top = {kind: (payload, box_end) for kind, _start, payload, box_end in _boxes(data, 0, len(data))}
        if b"moov" not in top or b"mdat" not in top:
            raise not_mp4
        seconds = _duration_seconds(data, *top[b"moov"])
        _metadata_drop(data, 0, len(data))
    except (ValueError, struct.error, IndexError):
        raise UploadRefused(_("“%s” could not be read as an MP4 video; it may be damaged.") % name) from None
    if seconds > VIDEO_MAX_SECONDS:
        raise UploadRefused(
            _("“%(name)s” is %(seconds)d seconds long; videos can be up to %(limit)d seconds.")
            % {"name": name, "seconds": round(seconds), "limit": VIDEO_MAX_SECONDS}
        )
    return PreparedFile(
        kind="video",
        content=bytes(data),
        content_type="video/mp4",
        sha256=hashlib.sha256(raw).hexdigest(),
        original_name=name,
    )
