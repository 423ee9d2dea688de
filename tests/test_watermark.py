"""The in-repo watermark is invisible-watermark's DWT-DCT-SVD scheme: it reads the package's marks, the package reads
its marks, and marks survive what a shared copy goes through (metadata stripped, JPEG re-compression)."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from review.provenance import watermark
from tests.conftest import photo

LEGACY = Path(__file__).parent / "data" / "marked-by-invisible-watermark-0.2.0.png"  # coffee, 320×256


def _jpeg(image: Image.Image, quality: int = 90) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(buf)


def _png(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "PNG")  # no metadata: only the pixels carry the mark
    return Image.open(buf)


@pytest.mark.parametrize("name,size", [("astronaut", None), ("chelsea", (1024, 1024)), ("rocket", (333, 517)),
                                       ("camera", None), ("hubble_deep_field", (640, 480))])
def test_round_trip_through_png_and_jpeg(name, size):
    original = photo(name, size)
    payload = watermark.payload_for(f"record-{name}")
    marked = watermark.embed(original, payload)
    assert marked.size == original.size and marked.mode == "RGB"
    assert watermark.extract(_png(marked)) == payload
    assert watermark.extract(_jpeg(marked)) == payload
    assert watermark.extract(original) is None
    diff = np.asarray(marked, np.float64) - np.asarray(original, np.float64)
    assert 0 < np.abs(diff).max() <= 12 and 10 * np.log10(255**2 / np.mean(diff**2)) > 38  # changed, invisibly


def test_other_payloads_and_modes():
    grey = photo("coffee").convert("L")
    a, b = watermark.payload_for("a"), watermark.payload_for("b")
    assert a != b and a[:2] == b[:2] == b"EG"
    assert watermark.extract(watermark.embed(grey, a)) == a  # a greyscale output is marked in colour
    assert watermark.extract(watermark.embed(photo("coffee").convert("RGBA"), b)) == b
    with pytest.raises(watermark.WatermarkUnavailable, match="256"):
        watermark.embed(photo("coffee", (255, 256)), a)
    assert watermark.extract(photo("coffee", (200, 200))) is None


def test_an_output_marked_by_the_old_package_still_reads():
    with Image.open(LEGACY) as im:
        assert watermark.extract(im) == watermark.payload_for("legacy-record")
        assert watermark.extract(_jpeg(im, 92)) == watermark.payload_for("legacy-record")


def test_the_haar_band_and_singular_values_are_the_schemes():
    pywt = pytest.importorskip("pywt")
    rgb = np.asarray(photo("astronaut", (256, 256)))
    band = watermark._approximation(rgb)
    u = rgb.astype(np.float64) @ watermark._U_FROM_RGB.astype(np.float64) + 128
    np.testing.assert_allclose(band, pywt.dwt2(u, "haar")[0], atol=1e-3)
    blocks = watermark._blocks(band)
    assert blocks.shape == (32 * 32, 4, 4) and np.array_equal(blocks[1], band[0:4, 4:8])
    dct = _dct_matrix(4)
    exact = np.linalg.svd(dct @ blocks.astype(np.float64) @ dct.T, compute_uv=False)[:, 0]  # the DCT's s0
    uu, s0, v = watermark._top_singular(blocks)
    np.testing.assert_allclose(s0, exact, rtol=1e-6)
    np.testing.assert_allclose(np.einsum("ni,ni->n", uu, uu), 1, rtol=1e-6)
    degenerate = np.stack([np.eye(4) * 100 + 1, np.ones((4, 4))])  # equal top singular values: LAPACK decides
    _, s_deg, _ = watermark._top_singular(degenerate)
    np.testing.assert_allclose(s_deg, np.linalg.svd(degenerate, compute_uv=False)[:, 0])


def _dct_matrix(n: int) -> np.ndarray:
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    m = np.sqrt(2 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0] /= np.sqrt(2)
    return m


def test_interoperates_with_the_invisible_watermark_package():
    """Runs where the package is installed (it is no longer a requirement): both directions, and the fixture."""
    imwatermark = pytest.importorskip("imwatermark")
    for name, size in [("chelsea", None), ("astronaut", (700, 500)), ("rocket", None)]:
        image = photo(name, size)
        payload = watermark.payload_for(name)
        encoder = imwatermark.WatermarkEncoder()
        encoder.set_watermark("bytes", payload)
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        theirs = Image.fromarray(np.ascontiguousarray(encoder.encode(bgr, "dwtDctSvd")[:, :, ::-1]))
        assert watermark.extract(theirs) == payload
        decoder = imwatermark.WatermarkDecoder("bytes", watermark.PAYLOAD_BITS)
        for ours in (watermark.embed(image, payload), _jpeg(watermark.embed(image, payload))):
            ours_bgr = np.ascontiguousarray(np.asarray(ours.convert("RGB"))[:, :, ::-1])
            assert decoder.decode(ours_bgr, "dwtDctSvd") == payload
    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bytes", watermark.payload_for("legacy-record"))
    legacy = encoder.encode(np.ascontiguousarray(np.asarray(photo("coffee", (320, 256)))[:, :, ::-1]), "dwtDctSvd")
    with Image.open(LEGACY) as im:
        assert np.array_equal(np.asarray(im), legacy[:, :, ::-1])  # the fixture is what the package wrote
