"""Checking and cleaning what customers upload with a review: photos and short videos.

Photos are checked and re-encoded by `merchant.uploads` (shared with the return portal): pixels only,
upright, without EXIF or GPS, decompression bombs refused.

Videos (MP4) are not re-encoded: the container is walked box by box (it must be an MP4 with a
movie header and media data, no longer than `VIDEO_MAX_SECONDS`), and the metadata boxes
(`udta`, `meta`: where phones write the recording place) are renamed to `free`, which players
skip, so no location leaves the shop and no offset moves.
"""

import hashlib
import struct

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# The photo checks live in merchant.uploads; their names are kept here for reviews' callers.
from merchant.uploads import (  # noqa: F401
    MB,
    PHOTO_FORMATS,
    PHOTO_MAX_BYTES,
    PHOTO_MAX_PIXELS,
    PHOTO_MAX_SIDE,
    PreparedFile,
    UploadRefused,
    photo_prepare,
    read_limited,
)

PHOTOS_PER_REVIEW = 5
VIDEO_MAX_BYTES = 30 * MB
VIDEO_MAX_SECONDS = 60
VIDEOS_PER_REVIEW = 1
# The whole form with every file: refused with 413 before it is read.
REQUEST_MAX_BYTES = 80 * MB

MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"mmp4", b"dash"}
)


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
    raw = read_limited(upload, VIDEO_MAX_BYTES, _("videos"))
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
