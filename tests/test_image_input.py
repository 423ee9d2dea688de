"""Bad and unusual uploads: each is either normalised to plain RGB or refused in one plain sentence."""
import io

import numpy as np
import pytest
from PIL import Image

from review.pipeline.image_input import BadImage, load_image
from tests.conftest import photo


def encoded(image, fmt, **kw):
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("data,code", [
    (b"", "image.empty"),
    (b"this is not an image at all", "image.not_image"),
    (b"%PDF-1.4 fake", "image.not_image"),
])
def test_refused_with_a_code(data, code):
    with pytest.raises(BadImage) as err:
        load_image(data)
    assert err.value.code == code
    assert "Traceback" not in str(err.value) and str(err.value).endswith(".")


def test_truncated_jpeg_is_damaged():
    data = encoded(photo(), "JPEG")
    with pytest.raises(BadImage) as err:
        load_image(data[: len(data) // 2])
    assert err.value.code == "image.damaged"


def test_decompression_bomb_is_refused_before_decoding():
    # A 20000x20000 PNG of one colour: tiny on disk, 400 M pixels in memory.
    bomb = encoded(Image.new("L", (20000, 20000)), "PNG", optimize=True)
    assert len(bomb) < 1_000_000
    with pytest.raises(BadImage) as err:
        load_image(bomb, max_pixels=40_000_000)
    assert err.value.code == "image.too_many_pixels"


def test_pixel_cap_is_configurable():
    with pytest.raises(BadImage):
        load_image(encoded(photo(), "PNG"), max_pixels=10_000)


def test_byte_cap(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encoded(photo(), "PNG"))
    with pytest.raises(BadImage) as err:
        load_image(path, max_bytes=1000)
    assert err.value.code == "image.too_big"


def test_tiny_image_is_refused():
    with pytest.raises(BadImage) as err:
        load_image(encoded(Image.new("RGB", (4, 4)), "PNG"))
    assert err.value.code == "image.too_small"


def test_missing_file(tmp_path):
    with pytest.raises(BadImage) as err:
        load_image(tmp_path / "nope.png")
    assert err.value.code == "image.not_found"


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = load_image(buf.getvalue())
    assert out.mode == "RGB" and tuple(np.asarray(out)[0, 0]) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb():
    out = load_image(encoded(photo().convert("CMYK"), "JPEG"))
    assert out.mode == "RGB" and out.size == photo().size


def test_16_bit_png_is_scaled_not_clipped():
    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    out = np.asarray(load_image(encoded(Image.fromarray(arr), "PNG")))
    assert out.shape == (64, 64, 3) and out.max() == 255 and out.min() == 0
    assert 100 < out.mean() < 155  # a full ramp stays a full ramp


def test_palette_and_alpha():
    pal = load_image(encoded(photo().convert("P"), "PNG"))
    assert pal.mode == "RGB"
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))  # fully transparent red
    out = load_image(encoded(rgba, "PNG"))
    assert tuple(np.asarray(out)[0, 0]) == (255, 255, 255)  # composited on white


def test_exif_orientation_is_applied():
    im = photo()  # landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(encoded(im, "JPEG", exif=exif.tobytes()))
    assert out.size == (im.height, im.width)
