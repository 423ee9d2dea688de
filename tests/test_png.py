"""The fast PNG writer: every decoder reads its files back pixel for pixel, with their text and colour profile."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from db import png
from review.provenance import metadata
from review.provenance.metadata import Facts
from tests.conftest import photo


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_every_mode_and_level_reads_back_exactly(mode, level):
    picture = photo("astronaut", (300, 211)).convert(mode)  # odd sizes: rows are not a multiple of anything
    back = _decoded(png.encode(picture, level))
    assert back.format == "PNG" and back.mode == mode and back.size == picture.size
    assert np.array_equal(np.asarray(back), np.asarray(picture))


def test_opencv_reads_it_too():
    cv2 = pytest.importorskip("cv2")
    picture = photo("chelsea")
    decoded = cv2.imdecode(np.frombuffer(png.encode(picture), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(decoded[:, :, ::-1], np.asarray(picture))


def test_level_zero_stores_and_the_default_compresses_as_well_as_pillow():
    picture = photo("chelsea", (1024, 1024))
    stored, default = png.encode(picture, 0), png.encode(picture, 1)
    pillow = io.BytesIO()
    picture.save(pillow, "PNG", compress_level=1)
    assert len(stored) > picture.width * picture.height * 3  # every byte is there, plus a filter byte per row
    assert len(default) < 0.6 * len(stored) and len(default) <= len(pillow.getvalue()) * 1.02


def test_text_and_the_colour_profile_are_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture = photo("coffee", (200, 150))
    picture.info["icc_profile"] = profile
    back = _decoded(png.encode(picture, 1, {"Comment": "héllo 日本語 ✓"}))
    assert back.info["Comment"] == "héllo 日本語 ✓" and back.info["icc_profile"] == profile


def test_the_xmp_label_is_read_from_the_fast_files():
    facts = Facts(source_type=metadata.ALGORITHMIC_EDIT, record_id="r-1", model_id="classic", model_revision="",
                  model_license="MIT", credit="")
    data = metadata.encode(photo("rocket", (320, 240)), facts, "PNG", compress_level=1)
    assert data.startswith(png.SIGNATURE) and metadata.read(data)["source_type"] == metadata.ALGORITHMIC_EDIT


def test_other_modes_are_left_to_pillow():
    picture = photo("chelsea", (120, 90)).convert("P")
    back = _decoded(png.encode(picture, 1, {"Comment": "palette"}))
    assert back.mode == "P" and back.info["Comment"] == "palette"
    assert np.array_equal(np.asarray(back.convert("RGB")), np.asarray(picture.convert("RGB")))
    with pytest.raises(OSError):
        png.encode(Image.new("CMYK", (8, 8)), 1)  # what PNG cannot hold is refused, as Pillow refuses it


def _png(image: Image.Image, **info) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **info)
    return buf.getvalue()


def test_a_clean_copy_is_the_same_picture_without_its_metadata():
    """A bulk import stores a work's own PNG less its metadata: the file reads back as exactly the picture the app
    decoded (load_image), its text and time are gone, its colour profile stays."""
    from PIL.PngImagePlugin import PngInfo

    from db.image_store import encode_file
    from review.pipeline.image_input import load_image

    rng = np.random.default_rng(5)
    rgb = Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    info = PngInfo()
    info.add_text("Author", "someone@example.com")
    info.add_itxt("Comment", "secret notes", zip=True)
    for source in (_png(rgb, pnginfo=info, icc_profile=b"\0" * 128), _png(rgb.convert("L")),
                   _png(rgb, optimize=True), _png(rgb, compress_level=9)):
        kept = png.clean_copy(source)
        assert kept is not None and len(kept) <= len(source)
        assert np.array_equal(np.asarray(load_image(kept)), np.asarray(load_image(source)))
        assert b"someone@" not in kept and b"tEXt" not in kept and b"iTXt" not in kept and b"zTXt" not in kept
        stored = encode_file(source, load_image(source))
        assert stored.data == kept and (stored.width, stored.height) == (60, 40)
    assert b"iCCP" in png.clean_copy(_png(rgb, icc_profile=b"\0" * 128))


def test_a_png_that_loading_would_convert_is_encoded_afresh():
    """Transparency, a palette, 16 bits, an EXIF orientation, a damaged chunk, another format: no clean copy, and the
    stored file is the picture as decoded."""
    from db.image_store import encode_file
    from review.pipeline.image_input import load_image

    rng = np.random.default_rng(6)
    rgb = Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: load_image applies it
    damaged = bytearray(_png(rgb))
    damaged[60] ^= 0xFF  # inside the IDAT's data: its CRC no longer matches
    jpeg = io.BytesIO()
    rgb.save(jpeg, "JPEG")
    sources = {"alpha": _png(rgb.convert("RGBA")), "palette": _png(rgb.convert("P")),
               "16 bits": _png(Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257))),
               "colour key": _png(rgb, transparency=(1, 2, 3)), "orientation": _png(rgb, exif=exif.tobytes()),
               "damaged": bytes(damaged), "jpeg": jpeg.getvalue()}
    for name, source in sources.items():
        assert png.clean_copy(source) is None, name
        if name != "damaged":
            stored = encode_file(source, load_image(source))
            assert np.array_equal(np.asarray(load_image(stored.data)), np.asarray(load_image(source))), name
