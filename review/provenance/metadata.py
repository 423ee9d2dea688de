"""XMP with the IPTC digital source type and the EditGuard record facts, written to and read from PNG and JPEG.

XMP is the one metadata format PNG (iTXt `XML:com.adobe.xmp`) and JPEG (APP1) share, and where IPTC defines
`Iptc4xmpExt:DigitalSourceType`. Pillow writes both; reading parses the packet with ElementTree after refusing any
DOCTYPE (no entity expansion from a file someone else made).
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from db import png

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"  # made by a generative model from references only
COMPOSITE_TRAINED = IPTC_SOURCE_TYPES + "compositeWithTrainedAlgorithmicMedia"  # a photo edited by a generative model
ALGORITHMIC_EDIT = IPTC_SOURCE_TYPES + "algorithmicallyEnhanced"  # a photo changed by plain filters (the CPU editor)
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "editguard": "https://editguard.example/ns/1.0/",
}
FIELDS = ("record_id", "model_id", "model_revision", "model_license", "credit", "generator", "watermark")


@dataclass(frozen=True)
class Facts:
    """What an output's metadata says about it."""

    source_type: str
    record_id: str
    model_id: str
    model_revision: str = ""
    model_license: str = ""
    credit: str = ""
    generator: str = "EditGuard"
    watermark: str = ""  # the watermark payload in hex, or why there is none

    def to_dict(self) -> dict:
        return asdict(self)


def describe(facts: Facts) -> str:
    """The one-line description every label carries, worded from the source type: the CPU editor's filtered outputs
    are automatic edits, never called AI-generated."""
    made = {ALGORITHMIC_EDIT: "Automatically edited image (filters, no generative AI)",
            COMPOSITE_TRAINED: "AI-edited image", TRAINED: "AI-generated image"}.get(facts.source_type, "Image")
    return f"{made} from {facts.generator} (record {facts.record_id}, model {facts.model_id})"


def visible_text(source_type: str) -> str:
    """The visible mark's words, from the same source type as the metadata."""
    return "Auto-edited" if source_type == ALGORITHMIC_EDIT else "AI generated"


def xmp_packet(facts: Facts) -> bytes:
    fields = "".join(f"\n   editguard:{_camel(k)}={quoteattr(str(getattr(facts, k)))}" for k in FIELDS)
    description = describe(facts)
    xml = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="{NS['rdf']}">
  <rdf:Description rdf:about=""
   xmlns:Iptc4xmpExt="{NS['Iptc4xmpExt']}" xmlns:xmp="{NS['xmp']}" xmlns:dc="{NS['dc']}"
   xmlns:photoshop="{NS['photoshop']}" xmlns:editguard="{NS['editguard']}"
   Iptc4xmpExt:DigitalSourceType={quoteattr(facts.source_type)}
   xmp:CreatorTool={quoteattr(facts.generator)}
   photoshop:Credit={quoteattr(facts.credit or facts.model_id)}{fields}>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(description)}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""
    return xml.encode("utf-8")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head[0].upper() + head[1:] + "".join(p.capitalize() for p in rest)


def encode(image: Image.Image, facts: Facts, fmt: str = "PNG", **save) -> bytes:
    """The picture as PNG or JPEG bytes carrying the XMP packet (and nothing else: no EXIF, no GPS)."""
    xmp = xmp_packet(facts)
    if fmt.upper() == "PNG":
        return png.encode(image, save.get("compress_level", 1), {"XML:com.adobe.xmp": xmp.decode("utf-8")})
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", xmp=xmp, **save)
    return buf.getvalue()


def read(data: bytes) -> dict | None:
    """The facts in a file's XMP packet, or None when it has none (or one this app did not write)."""
    with Image.open(io.BytesIO(data)) as im:
        packet = im.info.get("XML:com.adobe.xmp") or im.info.get("xmp")
    if not packet:
        return None
    if isinstance(packet, bytes):
        packet = packet.decode("utf-8", "replace")
    if "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return None
    try:
        root = ET.fromstring(packet[packet.index("<x:xmpmeta"):packet.rindex("</x:xmpmeta>") + len("</x:xmpmeta>")])
    except (ValueError, ET.ParseError):
        return None
    for desc in root.iter(f"{{{NS['rdf']}}}Description"):
        source = desc.get(f"{{{NS['Iptc4xmpExt']}}}DigitalSourceType")
        if source is None:
            continue
        out = {"source_type": source, "credit": desc.get(f"{{{NS['photoshop']}}}Credit", "")}
        for k in FIELDS:
            value = desc.get(f"{{{NS['editguard']}}}{_camel(k)}")
            if value is not None:
                out[k] = value
        return out
    return None
