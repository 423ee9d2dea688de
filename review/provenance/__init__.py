"""Provenance: every output says it is machine-made, by which model, for which record, in three independent ways.

- `metadata`: an XMP packet with the IPTC digital source type, model, revision, license, credit and record id
  (PNG iTXt / JPEG APP1), readable by any photo tool;
- `signing`: a C2PA manifest signed with c2pa-python (a local certificate authority made on first start, or the
  operator's certificate and key);
- `watermark`: an invisible DWT-DCT-SVD watermark (invisible-watermark's scheme, as diffusers' SDXL pipelines add,
  vectorised in numpy), which survives the metadata being stripped and JPEG re-compression.

`labeller.Labeller` applies them in that order to an output's pixels; `verify.verify` reads all of them back.
"""
