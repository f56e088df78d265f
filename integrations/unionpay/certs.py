"""X.509 for ACP: the sandbox's CA chain (root -> middle -> signing certificates), and the check that a
message's ``signPubKeyCert`` was issued by the configured root and middle certificates to UnionPay."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

RSA_BITS = 2048
CERT_DAYS = 3650


class CertificateError(ValueError):
    """A certificate is unreadable, outside its validity, not from the trusted chain, or not UnionPay's."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A private key and the certificate issued for it."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate


def cert_id(cert: x509.Certificate) -> str:
    """Return the certId ACP messages carry: the certificate's serial number in decimal."""
    return str(cert.serial_number)


def issue(common_name: str, issuer: Issued | None, ca: bool, now: dt.datetime) -> Issued:
    """Make a key and a certificate for ``common_name``, signed by ``issuer`` (self-signed when None)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OpenPrepay UnionPay sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    signer = issuer.key if issuer else key
    return Issued(key, builder.sign(signer, hashes.SHA256()))


def pem(cert: x509.Certificate) -> str:
    """Return a certificate as PEM text."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key: rsa.RSAPrivateKey) -> str:
    """Return a private key as unencrypted PKCS#8 PEM text."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def load_cert(text: str) -> x509.Certificate:
    """Read one PEM certificate."""
    try:
        return x509.load_pem_x509_certificate(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise CertificateError("not a PEM certificate") from err


def load_key(text: str) -> rsa.RSAPrivateKey:
    """Read one unencrypted PEM RSA private key."""
    try:
        key = serialization.load_pem_private_key(text.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as err:
        raise CertificateError("not an unencrypted PEM private key") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("not an RSA private key")
    return key


def signer_name(cert: x509.Certificate) -> str:
    """Return the organisation part of a UnionPay certificate's CN (``…@…@中国银联股份有限公司@…``)."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    parts = str(names[0].value).split("@") if names else []
    return parts[2] if len(parts) > 2 else ""


def _directly_issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _in_validity(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


class TrustChain:
    """The root and middle certificates UnionPay publishes; tells whether a signing certificate is UnionPay's."""

    def __init__(self, root: x509.Certificate, middle: x509.Certificate, signer: str) -> None:
        self.root = root
        self.middle = middle
        self.signer = signer

    def check(self, text: str, now: dt.datetime) -> x509.Certificate:
        """Return the signing certificate in ``text`` once it is proven UnionPay's at ``now``; else raise."""
        cert = load_cert(text)
        if not (_directly_issued(self.middle, self.root) and _is_ca(self.middle)):
            raise CertificateError("the middle certificate is not issued by the root")
        if not _directly_issued(cert, self.middle) or _is_ca(cert):
            raise CertificateError("signing certificate not issued by the trusted middle certificate")
        if not all(_in_validity(c, now) for c in (cert, self.middle, self.root)):
            raise CertificateError("a certificate of the chain is outside its validity")
        if signer_name(cert) != self.signer:
            raise CertificateError("signing certificate is not issued to UnionPay")
        return cert
