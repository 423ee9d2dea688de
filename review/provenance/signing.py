"""C2PA Content Credentials: sign an output's bytes, and read a file's manifest back with its validation state.

The signer is either the operator's (EDITGUARD_C2PA_CERT: a PEM chain, signer first; EDITGUARD_C2PA_KEY: its PEM
private key) or a local certificate authority that the app creates on first start under
<data dir>/provenance/: a CA certificate (the trust anchor verification uses) and a signer certificate issued by it.
The C2PA SDK refuses a lone self-signed signer, hence the two levels. Private keys are written 0600 and never
logged or shown.
"""
from __future__ import annotations

import datetime
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from errors import UserError
from review.provenance.metadata import describe

MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}
RECORD_ASSERTION = "org.editguard.record"


class SigningUnavailable(UserError):
    def __init__(self, detail: str):
        super().__init__(f"The result could not be given its Content Credentials ({detail}); nothing was saved.",
                         "provenance.failed")


@dataclass(frozen=True)
class Credentials:
    chain_pem: bytes  # signer certificate first, then its issuers
    key_pem: bytes
    trust_anchor_pem: bytes  # what verification trusts: the local CA, or the operator's chain's last certificate
    origin: str  # "local authority" | "operator"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EditGuard (local test authority)")])


def _key_usage(sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                         encipher_only=False, decipher_only=False)


def make_local_authority(directory: Path) -> Credentials:
    """A CA (10 years) and a signer certificate from it (2 years), ECDSA P-256, written under `directory`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("EditGuard local CA")).issuer_name(_name("EditGuard local CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(sign=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(_name("EditGuard content signer")).issuer_name(ca.subject)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=730))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_key_usage(sign=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    key_pem = signer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    directory.mkdir(parents=True, exist_ok=True)
    for name, data, secret in (("ca.pem", pem(ca), False), ("ca.key", ca_key_pem, True),
                               ("signer-chain.pem", pem(signer) + pem(ca), False), ("signer.key", key_pem, True)):
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return Credentials(pem(signer) + pem(ca), key_pem, pem(ca), "local authority")


def load_credentials(directory: Path, cert_path: str | None = None, key_path: str | None = None) -> Credentials:
    """The operator's certificate and key when both are configured, else the local authority (made if missing)."""
    if cert_path or key_path:
        if not (cert_path and key_path):
            raise ValueError("EDITGUARD_C2PA_CERT and EDITGUARD_C2PA_KEY must be set together.")
        try:
            chain, key = Path(cert_path).read_bytes(), Path(key_path).read_bytes()
        except OSError as exc:
            raise ValueError(f"The C2PA certificate or key cannot be read ({exc.strerror}).") from None
        return Credentials(chain, key, _last_certificate(chain), "operator")
    if not (directory / "signer.key").exists():
        return make_local_authority(directory)
    return Credentials((directory / "signer-chain.pem").read_bytes(), (directory / "signer.key").read_bytes(),
                       (directory / "ca.pem").read_bytes(), "local authority")


def _last_certificate(chain_pem: bytes) -> bytes:
    return x509.load_pem_x509_certificates(chain_pem)[-1].public_bytes(serialization.Encoding.PEM)


def trust_anchors(directory: Path, cert_path: str | None = None) -> bytes | None:
    """What verification trusts without creating anything: the operator chain's root and the local CA, if present."""
    anchors = b""
    if cert_path:
        try:
            anchors += _last_certificate(Path(cert_path).read_bytes())
        except OSError as exc:
            raise ValueError(f"The C2PA certificate cannot be read ({exc.strerror}).") from None
    if (directory / "ca.pem").is_file():
        anchors += (directory / "ca.pem").read_bytes()
    return anchors or None


def manifest_for(facts, fmt: str) -> dict:
    """The C2PA manifest: a created action with the IPTC source type and the model as software agent, plus the
    record facts as this app's own assertion."""
    return {
        "claim_generator_info": [{"name": facts.generator, "version": "1"}],
        "title": f"{facts.record_id}.{fmt.lower()}",
        "format": MIME[fmt],
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{
                "action": "c2pa.created",  # the SDK requires created (or opened, with the input as ingredient) first
                "digitalSourceType": facts.source_type,
                "softwareAgent": {"name": facts.model_id, "version": facts.model_revision or "unknown"},
            }]}},
            {"label": RECORD_ASSERTION, "data": {**{k: v for k, v in facts.to_dict().items() if k != "source_type"},
                                                 "description": describe(facts)}},
        ],
    }


class Signer:
    def __init__(self, credentials: Credentials):
        self.credentials = credentials
        info = c2pa.C2paSignerInfo(alg=b"es256", sign_cert=credentials.chain_pem, private_key=credentials.key_pem,
                                   ta_url=None)
        try:
            self._signer = c2pa.Signer.from_info(info)
        except c2pa.C2paError:
            raise SigningUnavailable("the signer cannot be made from this certificate and key") from None
        self._context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))

    def sign(self, data: bytes, fmt: str, facts) -> bytes:
        try:
            builder = c2pa.Builder(json.dumps(manifest_for(facts, fmt)), context=self._context)
            out = io.BytesIO()
            builder.sign(self._signer, MIME[fmt], io.BytesIO(data), out)
        except c2pa.C2paError as exc:
            raise SigningUnavailable(f"C2PA signing failed ({type(exc).__name__})") from exc
        return out.getvalue()


def read_manifest(data: bytes, mime: str, trust_anchor_pem: bytes | None) -> dict | None:
    """The active manifest's facts and validation: state is Trusted (signature valid, chain to a trusted anchor),
    Valid (signature valid, signer not trusted here) or Invalid (tampered or broken). None when there is none."""
    config = {"verify": {"verify_trust": bool(trust_anchor_pem)}}
    if trust_anchor_pem:
        config["trust"] = {"trust_anchors": trust_anchor_pem.decode()}
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=c2pa.Context(c2pa.Settings.from_dict(config)))
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in str(exc) or "no JUMBF" in str(exc) or "NotFound" in type(exc).__name__:
            return None
        return {"state": "Invalid", "errors": [str(exc)]}
    store = json.loads(reader.json())
    active = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    results = store.get("validation_results", {}).get("activeManifest", {})
    assertions = {a["label"]: a.get("data") for a in active.get("assertions", [])}
    actions = (assertions.get("c2pa.actions.v2") or {}).get("actions", [])
    return {
        "state": store.get("validation_state") or "Invalid",
        "signer": (active.get("signature_info") or {}).get("common_name") or (active.get("signature_info") or {}).get("issuer"),
        "source_type": actions[0].get("digitalSourceType") if actions else None,
        "record": assertions.get(RECORD_ASSERTION) or {},
        "errors": [f"{r.get('code')}: {r.get('explanation', '')}" for r in results.get("failure", [])],
    }
