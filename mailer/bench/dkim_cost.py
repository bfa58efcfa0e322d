"""python -m mailer.bench.dkim_cost: DKIM signing cost per message next to OpenSSL's RSA-2048 sign time.

Signs one ~15 KB announcement (MessageBuilder output shaped like the engine's)
with a 2048-bit key made on the fly, a few thousand times, and prints the cost per message
of DkimSigner.sign, of dkimpy's signer (the old path), of a bare RSA-2048 signature through
`cryptography`, and `openssl speed -seconds 3 rsa2048`'s sign time, all in the same run.
The signer and the bare signature are timed in alternating rounds, so load from other
processes on a shared machine hits both alike.

Times are CPU time of this process (time.process_time), because `openssl speed` divides by
its user CPU time unless given -elapsed: on a busy machine wall-clock time per signature is
longer by the share of time the process waits for a core, and comparing wall-clock time
against openssl's CPU time made the same RSA operation look 1.3 x slower here.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable

import cryptography
from cryptography.hazmat.backends.openssl import backend as openssl_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailer.mail.canonical import relaxed_body
from mailer.mail.dkim import DkimSigner, relaxed_headers
from mailer.mail.mime import MessageBuilder

# Shaped like the engine's announcement mail: a frame with a style block and nested,
# indented tables (~130 runs of spaces, which relaxed body canonicalisation must squeeze)
# around unindented Markdown output, a text part, and per-recipient unsubscribe headers.
_FRAME_HEAD = """<!DOCTYPE html><html lang="da"><head>
<meta charset="utf-8">
<title>Efterårets program</title>
<style>
  body { margin: 0; padding: 0; width: 100%; background: #f4f4f1; font-family: Georgia, serif; }
  table { border-collapse: collapse; }
  .card { background: #ffffff; padding: 32px; }
  .content h2 { font-size: 21px; line-height: 1.3; margin: 24px 0 12px; }
  .content p, .content li { font-size: 16px; line-height: 1.55; }
  .topbar { padding: 12px 24px; font-family: Arial, sans-serif; font-size: 12px; color: #555555; }
  .topbar a { color: #555555; }
  .content h1 { font-size: 26px; line-height: 1.3; margin: 0 0 16px; }
  .content a { color: #1d4f91; }
  .content img { display: block; }
  .footer { padding: 16px 24px 32px; font-family: Arial, sans-serif; font-size: 13px; color: #555555; }
  .footer a { color: #1d4f91; }
  @media (max-width: 620px) {
    .card { padding: 20px !important; }
  }
</style>
</head>
<body style="margin: 0;padding: 0;width: 100%;background: #f4f4f1;">
<table class="outer" role="presentation" border="0" width="100%" cellpadding="0" cellspacing="0">
  <tbody><tr>
    <td align="center">
      <table class="container" role="presentation" border="0" width="600" cellpadding="0" cellspacing="0">
        
        

        <tbody><tr>
          <td class="card content" style="background: #ffffff;padding: 32px;">
            
            <p style="font-size: 16px;line-height: 1.55;">Hej Søren</p>
"""
_FRAME_FOOT = """
            

          </td>
        </tr>
        <tr>
          <td class="footer" style="padding: 16px 24px 32px;font-size: 13px;color: #555555;">
            <p>Kunst &amp; Kultur i Balance</p>
            
            
            <p>Du får denne mail, fordi du har tilmeldt dig vores nyhedsbrev.</p>
            <p><a href="https://news.example.org/unsubscribe/WyJiMDAwMDAxYWJjZGVmIl0.igpi4CQ_hJEEhBla8">Afmeld</a></p>
            

          </td>
        </tr>
      </tbody></table>
    </td>
  </tr>
</tbody></table>
</body></html>
"""
_P = '<p style="font-size: 16px;line-height: 1.55;">'
_SECTION = (_P + "En workshop i Aarhus for ledere, kuratorer, producenter og frivillige, der vil arbejde konkret\n"
            "med <em>normer og privilegier</em>. Vi veksler mellem korte oplæg, øvelser i små grupper og fælles\n"
            "opsamling. Ingen forudsætninger kræves; alle er velkomne.</p>\n<ul>\n"
            "<li><strong>Dato:</strong> 13. oktober, kl. 13.00–16.30</li>\n"
            "<li><strong>Sted:</strong> Musikhuset Aarhus, Thomas Jensens Allé 2, 8000 Aarhus C</li>\n</ul>\n"
            + _P + 'Læs mere og <a href="https://news.example.org/arrangementer/workshop?utm_source=nyhedsbrev" '
            'style="color: #1d4f91;">tilmeld dig her</a>.</p>\n')
_TEXT = ("En workshop i Aarhus for ledere, kuratorer, producenter og frivillige, der vil arbejde konkret\n"
         "med normer og privilegier. Ingen forudsætninger kræves; alle er velkomne.\n\n"
         "- Dato: 13. oktober, kl. 13.00–16.30\n- Sted: Musikhuset Aarhus\n"
         "Tilmeld dig: https://news.example.org/arrangementer/workshop?utm_source=nyhedsbrev\n\n")


def sample_message(target_bytes: int = 15_000) -> bytes:
    """Return the smallest message of whole sections that reaches target_bytes."""
    builder = MessageBuilder(sender='"Kunst & Kultur i Balance" <news@example.org>', message_id_domain="example.org",
                             static_headers={"List-Id": '"Kunst & Kultur i Balance" <newsletter.example.org>'})
    headers = {"List-Unsubscribe": "<https://news.example.org/one-click/WyJiMDAwMDAxYWJjZGVmIl0.igpi4CQ_hJEEhBla8>, "
                                   "<mailto:unsubscribe@example.org?subject=unsubscribe%20WyJiMDAwMDAxYWJjZGVmIl0>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    sections = 1
    while True:
        data = builder.build(to="Søren Ærø <soeren@example.dk>", subject="Efterårets program: workshops og debat",
                             text="Hej Søren\n\n" + _TEXT * sections,
                             html=_FRAME_HEAD + _SECTION * sections + _FRAME_FOOT, headers=headers).data
        if len(data) >= target_bytes:
            return data
        sections += 1


def openssl_sign_ms(seconds: int) -> tuple[float, str] | None:
    """Run `openssl speed rsa2048` and return (ms per sign, its version line), or None if it did not run."""
    try:
        result = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "rsa2048"],
                                capture_output=True, text=True, timeout=20 * seconds + 60, check=True)
        version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    # The table's row: "rsa 2048 bits 0.000456s 0.000014s   2192.5  71234.1" (sign, verify, sign/s, verify/s)
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s", result.stdout, re.MULTILINE)
    return (1000 / float(match.group(1)), version) if match else None


def sha256(data: bytes) -> bytes:
    """Return the SHA-256 digest of data, through cryptography as DkimSigner does."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def per_call_ms(function: Callable[[], object], calls: int) -> float:
    """Return the mean CPU time of one call, in ms."""
    start = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - start) / calls * 1000


def main(argv: list[str] | None = None) -> None:
    """Measure and print the cost per message."""
    parser = argparse.ArgumentParser(prog="python -m mailer.bench.dkim_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="signatures with DkimSigner (default 3000)")
    parser.add_argument("--dkimpy", type=int, default=200, help="signatures with dkimpy, the old path (0: skip)")
    parser.add_argument("--openssl-seconds", type=int, default=3, help="for `openssl speed -seconds` (0: skip)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions for 1000 signatures")
    options = parser.parse_args(argv)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    signer = DkimSigner(domain="example.org", selector="mailer2026", private_key_pem=pem)
    message = sample_message()
    head, _, body = message.partition(b"\r\n\r\n")
    names, canonical = relaxed_headers(head)
    signed_data = canonical + b"dkim-signature:" + b"x" * 450  # as much as DkimSigner's RSA signature covers
    print(f"message: {len(message):,} bytes ({len(body):,} body, {len(re.findall(rb'  +', body))} runs of spaces), "
          f"{len(names)} signed header fields; key: RSA 2048; load average: {os.getloadavg()[0]:.2f}")

    openssl = [openssl_sign_ms(options.openssl_seconds)] if options.openssl_seconds else []
    pieces = {
        "bare-LF check (two counts)": lambda: (message.count(b"\n"), message.count(b"\r\n")),
        "split head / body": lambda: message.partition(b"\r\n\r\n"),
        "header fields, relaxed": lambda: relaxed_headers(head),
        "body, relaxed": lambda: relaxed_body(body),
        "body SHA-256": lambda: sha256(body),
        "RSA sign (incl. header hash)": lambda: key.sign(signed_data, padding.PKCS1v15(), hashes.SHA256()),
    }
    rounds, per_round = 10, max(1, options.messages // 10)
    ours, times = [], {name: [] for name in pieces}
    wall = time.perf_counter()
    for _ in range(rounds):  # interleaved, so that load from elsewhere hits all alike
        ours.append(per_call_ms(lambda: signer.sign(message), per_round))
        for name, function in pieces.items():
            times[name].append(per_call_ms(function, per_round))
    wall_ms = (time.perf_counter() - wall) / (rounds * per_round) * 1000
    if options.openssl_seconds:
        openssl.append(openssl_sign_ms(options.openssl_seconds))
    new_ms = statistics.mean(ours)
    piece_ms = {name: statistics.mean(values) for name, values in times.items()}
    raw_ms = piece_ms["RSA sign (incl. header hash)"]

    print(f"\nCPU time per call, mean of {rounds} rounds (wall-clock per round: {wall_ms:.3f} ms, "
          f"CPU {sum(piece_ms.values()) + new_ms:.3f} ms)")
    print(f"DkimSigner.sign        {new_ms:7.3f} ms/message  ({1000 / new_ms:,.0f}/s, {rounds * per_round:,} messages)")
    print(f"bare RSA-2048 sign     {raw_ms:7.3f} ms           (cryptography {cryptography.__version__}, "
          f"{openssl_backend.openssl_version_text()})")
    if openssl and all(openssl):
        reference = statistics.mean(ms for ms, _ in openssl)
        print(f"openssl speed rsa2048  {reference:7.3f} ms/sign      (before {openssl[0][0]:.3f}, after {openssl[1][0]:.3f};"
              f" {openssl[0][1]})")
        print(f"ratio DkimSigner / openssl speed: {new_ms / reference:.2f}")
    print(f"ratio DkimSigner / bare RSA sign: {new_ms / raw_ms:.2f}  (rounds: "
          f"{min(o / r for o, r in zip(ours, times['RSA sign (incl. header hash)'])):.2f} - "
          f"{max(o / r for o, r in zip(ours, times['RSA sign (incl. header hash)'])):.2f})")
    if options.dkimpy:
        import dkim  # only for the comparison: the old path

        def dkimpy_sign() -> bytes:
            return dkim.sign(message, b"mailer2026", b"example.org", pem, canonicalize=(b"relaxed", b"relaxed"),
                             include_headers=list(names)) + message

        old_ms = per_call_ms(dkimpy_sign, options.dkimpy)
        print(f"dkimpy sign (old path) {old_ms:7.3f} ms/message  ({1000 / old_ms:,.0f}/s, {options.dkimpy} messages;"
              f" {old_ms / new_ms:.1f} x DkimSigner)")
    print("\nwhere DkimSigner's time goes (each piece timed alone, interleaved with the above):")
    for name, ms in piece_ms.items():
        print(f"  {name:30s} {ms * 1000:7.1f} us  {ms / new_ms:5.1%}")
    rest = new_ms - sum(piece_ms.values())
    print(f"  {'rest (folding, base64, joins)':30s} {rest * 1000:7.1f} us  {rest / new_ms:5.1%}")
    if options.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(lambda: [signer.sign(message) for _ in range(1000)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
