"""Framing bytes a service mesh adds to what travels between two proxies (issue 21).

With mutual TLS every proxy-to-proxy byte stream is carried in TLS 1.3 records
(RFC 8446): a record carries at most 2^14 = 16,384 bytes of plaintext (section 5.1,
"TLSPlaintext records carrying data in chunks of 2^14 bytes or less") and adds on the
wire a 5-byte header (opaque_type 1, legacy_record_version 2, length 2; section 5.2,
TLSCiphertext), the inner content-type byte (TLSInnerPlaintext.type; no padding
assumed) and the AEAD tag, 16 bytes for the TLS 1.3 suites proxies negotiate
(AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305: RFC 5116 section 5, RFC 8439 section
2.8): 22 bytes per record.

Istio ambient's HBONE tunnels each TCP connection in an HTTP/2 CONNECT stream over
that mTLS ("HTTP CONNECT tunnel, over mutual TLS with SPIFFE certs, on port 15008",
istio/ztunnel and istio.io ambient data plane docs), so its payload also travels in
HTTP/2 DATA frames: a 9-byte frame header (RFC 9113 section 4.1: length 24 bits, type
8, flags 8, reserved + stream id 32) per frame of at most SETTINGS_MAX_FRAME_SIZE,
whose initial value is 2^14 = 16,384 (section 6.5.2); the frames are TLS plaintext.

Istio's sidecars exchange the application's bytes over TLS directly (TLS records
only); Linkerd's proxies upgrade HTTP/1 to HTTP/2 between each other (HPACK headers
and DATA frames), which is not modelled here: TLS records only.

Counting (per chunk the engine moves, up to ~64 KiB): ``n`` payload bytes are
``ceil(n / 16,384)`` DATA frames, whose ``n + 9 x frames`` plaintext bytes fill
``ceil(plaintext / 16,384)`` records, each full but the last (the proxies write
whole buffers). A chunk's records are counted on their own, so a record that would
span two chunks is counted in each: at most one record (22 bytes) too many per
64 KiB chunk, 0.03 %. HTTP/2 HEADERS frames (the CONNECT request, once per
connection) and TLS handshake bytes are not counted: once per pooled connection.
"""

from __future__ import annotations

from dataclasses import dataclass

TLS_RECORD_PLAINTEXT_MAX_BYTES = 16_384
"""RFC 8446 section 5.1: at most 2^14 bytes of plaintext per record."""
TLS_RECORD_HEADER_BYTES = 5
"""RFC 8446 section 5.2, TLSCiphertext: opaque_type, legacy_record_version, length."""
TLS_INNER_CONTENT_TYPE_BYTES = 1
"""RFC 8446 section 5.2, TLSInnerPlaintext.type (the true content type)."""
TLS_AEAD_TAG_BYTES = 16
"""The AEAD expansion of AES-GCM and ChaCha20-Poly1305 (RFC 5116 5.1-5.2, RFC 8439 2.8)."""
TLS_RECORD_OVERHEAD_BYTES = (TLS_RECORD_HEADER_BYTES + TLS_INNER_CONTENT_TYPE_BYTES
                             + TLS_AEAD_TAG_BYTES)
H2_FRAME_HEADER_BYTES = 9
"""RFC 9113 section 4.1: every HTTP/2 frame starts with a 9-octet header."""
H2_MAX_FRAME_PAYLOAD_BYTES = 16_384
"""RFC 9113 section 6.5.2: SETTINGS_MAX_FRAME_SIZE's initial value, 2^14."""


@dataclass(frozen=True, slots=True)
class Framing:
    """What a proxy-to-proxy leg wraps payload in: TLS records (``tls``) and, inside
    them, HTTP/2 DATA frames (``h2``: HBONE)."""

    tls: bool
    h2: bool = False

    def overhead_bytes(self, nbytes: int) -> int:
        """Bytes the framing adds to ``nbytes`` of payload (0 for a payload-less
        message: SYN, FIN)."""
        if nbytes <= 0:
            return 0
        extra = 0
        plain = nbytes
        if self.h2:
            frames = -(-nbytes // H2_MAX_FRAME_PAYLOAD_BYTES)
            extra += frames * H2_FRAME_HEADER_BYTES
            plain += frames * H2_FRAME_HEADER_BYTES
        if self.tls:
            records = -(-plain // TLS_RECORD_PLAINTEXT_MAX_BYTES)
            extra += records * TLS_RECORD_OVERHEAD_BYTES
        return extra

    @property
    def key(self) -> tuple[str, ...]:
        """What a path signature records of it."""
        return ("tls",) * self.tls + ("h2",) * self.h2


TLS_RECORDS = Framing(tls=True)
HBONE = Framing(tls=True, h2=True)


def mesh_framing(mode: str, mtls: bool) -> Framing | None:
    """The framing between two proxies of ``mode`` (None: none): HBONE (HTTP/2 in TLS)
    for istio-ambient with mTLS, TLS records for the sidecars with mTLS, nothing
    without mTLS or for cilium-mesh (its proxies do not encrypt: the CNI does, and the
    CNI's profile already counts its WireGuard or IPsec bytes)."""
    if not mtls or mode == "cilium-mesh":
        return None
    return HBONE if mode == "istio-ambient" else TLS_RECORDS
