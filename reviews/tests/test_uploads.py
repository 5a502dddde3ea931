"""Photos and videos customers add: recognised by content, limited in size, photos re-encoded without EXIF/GPS,
decompression bombs refused, videos checked box by box with their place of recording blanked, and every refusal
naming the file and the problem on the page."""

import datetime as dt
import struct
import time
from io import BytesIO
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reviews.links import review_url
from reviews.models import Review, ReviewMedia, ReviewRequest
from reviews.tests.factories import DELIVERED_AT, delivered_order
from reviews.uploads import (
    PHOTO_MAX_BYTES,
    VIDEO_MAX_SECONDS,
    UploadRefused,
    photo_prepare,
    video_prepare,
)

pytestmark = pytest.mark.django_db


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(*, seconds: float = 5, brand: bytes = b"isom", location: bool = True) -> bytes:
    """A minimal MP4: file type, a movie header (and the place it was recorded, as phones write it), media data."""
    mvhd = box(b"mvhd", bytes(4) + struct.pack(">III", 0, 0, 1000) + struct.pack(">I", int(seconds * 1000)) + bytes(80))
    udta = box(b"udta", box(b"\xa9xyz", b"\x00\x12\x15\xc7+52.5163+013.3777/")) if location else b""
    moov = box(b"moov", mvhd + udta)
    return box(b"ftyp", brand + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41") + moov + box(b"mdat", b"\x00" * 512)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


class TestPhotos:
    def test_a_phone_photo_is_stored_upright_without_exif_or_gps(self, jpeg):
        original = jpeg()
        with Image.open(BytesIO(original.read())) as before:
            assert before.getexif().get_ifd(0x8825), "the test photo carries a GPS position"
        original.seek(0)

        prepared = photo_prepare(original)
        assert (prepared.kind, prepared.content_type) == ("photo", "image/jpeg")
        assert (prepared.width, prepared.height) == (480, 640), "turned upright by its orientation tag"
        with Image.open(BytesIO(prepared.content)) as after:
            assert after.format == "JPEG"
            assert len(after.getexif()) == 0
            assert not after.getexif().get_ifd(0x8825)
            assert "exif" not in after.info
            assert "xmp" not in after.info
            assert after.size == (480, 640)
        assert b"PhoneMaker" not in prepared.content
        assert b"GPS" not in prepared.content

    @pytest.mark.parametrize("photo_format", ["PNG", "WEBP"])
    def test_png_and_webp_are_kept_in_their_format_without_metadata(self, photo_format):
        image = Image.new("RGBA", (300, 200), (10, 200, 10, 128))
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        buffer = BytesIO()
        image.save(buffer, photo_format, exif=exif)
        prepared = photo_prepare(upload(f"a.{photo_format.lower()}", buffer.getvalue()))
        with Image.open(BytesIO(prepared.content)) as after:
            assert after.format == photo_format
            assert after.mode == "RGBA", "transparency kept"
            assert len(after.getexif()) == 0
        assert b"PhoneMaker" not in prepared.content

    def test_a_large_photo_is_made_smaller(self):
        buffer = BytesIO()
        Image.new("RGB", (4000, 3000), (1, 2, 3)).save(buffer, "JPEG")
        prepared = photo_prepare(upload("big.jpg", buffer.getvalue()))
        assert (prepared.width, prepared.height) == (2048, 1536)

    @pytest.mark.parametrize(
        ("name", "content", "problem"),
        [
            ("cat.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "“cat.gif” is not a JPEG, PNG or WebP photo."),
            ("IMG_1.jpg", b"%PDF-1.7 pretending to be a photo", "“IMG_1.jpg” is not a JPEG, PNG or WebP photo."),
            ("IMG_2.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 cut off", "“IMG_2.jpg” could not be read as a photo"),
            ("empty.jpg", b"", "“empty.jpg” is empty."),
        ],
        ids=["gif", "pdf-named-jpg", "truncated-jpeg", "empty"],
    )
    def test_what_is_not_a_photo_is_refused_by_its_content_not_its_name(self, name, content, problem):
        with pytest.raises(UploadRefused, match=problem.replace("(", r"\(")):
            photo_prepare(upload(name, content, "image/jpeg"))

    def test_a_photo_over_the_size_limit_is_refused_before_it_is_decoded(self):
        too_big = upload("huge.jpg", b"\xff\xd8" + bytes(PHOTO_MAX_BYTES))
        with pytest.raises(UploadRefused, match="“huge.jpg” is 10 MB; photos can be up to 10 MB."):
            photo_prepare(too_big)

    def test_a_decompression_bomb_is_refused_without_decoding_it(self):
        buffer = BytesIO()
        Image.new("1", (8000, 8000)).save(buffer, "PNG")  # 64 megapixels in a few kilobytes
        assert len(buffer.getvalue()) < 100_000
        started = time.perf_counter()
        with pytest.raises(UploadRefused, match="has 64 megapixels; photos can have up to 40"):
            photo_prepare(upload("bomb.png", buffer.getvalue()))
        assert time.perf_counter() - started < 1

        bigger = BytesIO()
        Image.new("1", (10000, 10000)).save(bigger, "PNG")  # over Pillow's own warning threshold
        with pytest.raises(UploadRefused, match="is not a JPEG, PNG or WebP photo|megapixels"):
            photo_prepare(upload("bomb2.png", bigger.getvalue()))


class TestVideos:
    def test_an_mp4_is_kept_as_sent_except_the_place_it_was_recorded(self):
        raw = mp4()
        assert b"+52.5163+013.3777" in raw
        prepared = video_prepare(upload("clip.mp4", raw, "video/mp4"))
        assert (prepared.kind, prepared.content_type) == ("video", "video/mp4")
        assert len(prepared.content) == len(raw), "not re-encoded: no offset moves"
        assert b"udta" not in prepared.content
        assert b"free" in prepared.content
        assert prepared.content.replace(b"free", b"udta") == raw

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (mp4(brand=b"heic"), "“clip.mp4” is not an MP4 video."),
            (b"RIFF\x00\x00\x00\x00AVI LIST", "“clip.mp4” is not an MP4 video."),
            (mp4()[:-100], "could not be read as an MP4 video; it may be damaged"),
            (mp4(seconds=VIDEO_MAX_SECONDS + 30), "is 90 seconds long; videos can be up to 60 seconds"),
        ],
        ids=["heif-image", "avi", "truncated", "too-long"],
    )
    def test_what_is_not_a_short_mp4_is_refused(self, content, problem):
        with pytest.raises(UploadRefused, match=problem):
            video_prepare(upload("clip.mp4", content, "video/mp4"))


@pytest.fixture
def page(review_shop, customer, products):
    order = delivered_order(review_shop, customer, [products["socks"]])
    request = ReviewRequest.objects.get(order=order)
    item = request.items.get()
    with time_machine.travel(DELIVERED_AT, tick=False):
        path = urlsplit(review_url(request_id=request.pk, shop_id=review_shop.pk)).path
    return path, f"item-{item.pk}"


class TestOnThePage:
    @pytest.fixture(autouse=True)
    def clock(self):
        with time_machine.travel(DELIVERED_AT + dt.timedelta(days=8), tick=False):
            yield

    def test_the_photo_is_stored_once_however_often_it_is_sent(self, client, page, jpeg):
        path, prefix = page
        first = client.post(
            path, {f"{prefix}-rating": "5", f"{prefix}-photos": [jpeg(), jpeg("second.jpg", size=(8, 8))]}
        )
        assert first.status_code == 303
        again = client.post(path, {f"{prefix}-rating": "5", f"{prefix}-photos": jpeg()})
        assert again.status_code == 303
        stored = ReviewMedia.objects.order_by("id")
        assert [(media.kind, media.original_name) for media in stored] == [
            ("photo", "IMG_0042.jpg"),
            ("photo", "second.jpg"),
        ]
        with stored[0].file.open("rb") as handle, Image.open(handle) as image:
            assert len(image.getexif()) == 0
        assert stored[0].file.name.startswith(f"reviews/{Review.objects.get().shop_id}/")
        assert "IMG_0042" not in stored[0].file.name, "stored under a random name"

    def test_a_refused_file_is_named_on_the_page_and_nothing_is_stored(self, client, page):
        path, prefix = page
        response = client.post(
            path,
            {
                f"{prefix}-rating": "4",
                f"{prefix}-photos": upload("scan.pdf", b"%PDF-1.7"),
                f"{prefix}-video": upload("clip.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "),
            },
        )
        assert response.status_code == 400
        text = response.content.decode()
        assert "Wool socks · Photos: “scan.pdf” is not a JPEG, PNG or WebP photo." in text
        assert "Wool socks · Video: “clip.mov” is not an MP4 video." in text
        assert "please choose them again" in text
        assert not Review.objects.exists()
        assert not ReviewMedia.objects.exists()

    def test_a_video_and_up_to_five_photos_per_review(self, client, page, jpeg, media_root):
        path, prefix = page
        photos = [jpeg(f"p{n}.jpg", size=(8 + n, 8)) for n in range(5)]
        video = upload("clip.mp4", mp4(), "video/mp4")
        assert (
            client.post(
                path, {f"{prefix}-rating": "5", f"{prefix}-photos": photos, f"{prefix}-video": video}
            ).status_code
            == 303
        )
        assert ReviewMedia.objects.filter(kind="photo").count() == 5
        assert ReviewMedia.objects.filter(kind="video").count() == 1
        files_before = sorted(media_root.rglob("*.*"))
        assert len(files_before) == 6
        sixth = client.post(path, {f"{prefix}-rating": "5", f"{prefix}-photos": jpeg("p6.jpg", size=(30, 30))})
        assert sixth.status_code == 400
        assert "A review can have up to 5 photos." in sixth.content.decode()
        assert ReviewMedia.objects.count() == 6
        assert sorted(media_root.rglob("*.*")) == files_before, "a refused upload leaves no file behind"

        # Taking one off makes room again.
        photo = ReviewMedia.objects.filter(kind="photo").first()
        response = client.post(
            path,
            {
                f"{prefix}-rating": "5",
                f"{prefix}-remove_media": [str(photo.pk)],
                f"{prefix}-photos": jpeg("p6.jpg", size=(30, 30)),
            },
        )
        assert response.status_code == 303
        assert ReviewMedia.objects.filter(kind="photo").count() == 5
        assert not ReviewMedia.objects.filter(pk=photo.pk).exists()
