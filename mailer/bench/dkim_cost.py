"""python -m mailer.bench.dkim_cost: DKIM signing cost per message next to OpenSSL's RSA-2048 sign time.

Builds ~15 KB announcements the way the engine does (mailer/bench/dkim_sample.py: templates
filled afresh for each message) and signs them with a 2048-bit key made on the fly, a few
thousand times. It prints the cost per message of the engine's path (DkimSigner.sign_built,
from the built message's parts), of DkimSigner.sign on the message's bytes (the path of
other callers), of dkimpy's signer (the old path), of a bare RSA-2048 signature through
`cryptography`, and `openssl speed -seconds 3 rsa2048`'s sign time, all in the same run.
The signers and the bare signature are timed in alternating rounds, so load from other
processes on a shared machine hits all alike. Building the messages is not timed.

Times are CPU time of this process (time.process_time), because `openssl speed` divides by
its user CPU time unless given -elapsed: on a busy machine wall-clock time per signature is
longer by the share of time the process waits for a core, and comparing wall-clock time
against openssl's CPU time made the same RSA operation look 1.3 x slower here.
"""
from __future__ import annotations

import argparse
import hashlib
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

from mailer.bench.dkim_sample import SampleMailing
from mailer.mail.canonical import RelaxedParts, relaxed_body
from mailer.mail.dkim import DkimSigner, relaxed_headers
from mailer.mail.mime import BuiltMessage

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
    """Return the SHA-256 digest of data, through hashlib as DkimSigner does."""
    return hashlib.sha256(data).digest()


def per_call_ms(function: Callable[[], object], calls: int) -> float:
    """Return the mean CPU time of one call, in ms."""
    start = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - start) / calls * 1000


def per_message_ms(sign: Callable[[BuiltMessage], object], mailing: SampleMailing, first: int, count: int) -> float:
    """Return the mean CPU time of signing one of `count` fresh messages, in ms; building them is not timed."""
    spent = 0.0
    for start in range(first, first + count, 10):  # ten at a time: built just before, as the engine does
        messages = [mailing.build(number) for number in range(start, min(start + 10, first + count))]
        began = time.process_time()
        for message in messages:
            sign(message)
        spent += time.process_time() - began
    return spent / count * 1000


def main(argv: list[str] | None = None) -> None:
    """Measure and print the cost per message."""
    parser = argparse.ArgumentParser(prog="python -m mailer.bench.dkim_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="signatures per path with DkimSigner (default 3000)")
    parser.add_argument("--dkimpy", type=int, default=200, help="signatures with dkimpy, the old path (0: skip)")
    parser.add_argument("--openssl-seconds", type=int, default=3, help="for `openssl speed -seconds` (0: skip)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions for 1000 signatures")
    options = parser.parse_args(argv)

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    signer = DkimSigner(domain="example.org", selector="mailer2026", private_key_pem=pem)
    mailing = SampleMailing()
    built = mailing.build(0)
    message = built.data
    head, _, body = message.partition(b"\r\n\r\n")
    names, canonical = relaxed_headers(head)
    signed_data = canonical + b"dkim-signature:" + b"x" * 450  # as much as DkimSigner's RSA signature covers
    cached = sum(len(part) >= 512 for part in built.body_parts)
    print(f"message: {len(message):,} bytes ({len(body):,} body, {len(re.findall(rb'  +', body))} runs of spaces; "
          f"{len(built.body_parts)} parts, {cached} of them static and cached), {len(names)} signed header fields; "
          f"key: RSA 2048; load average: {os.getloadavg()[0]:.2f}")

    openssl = [openssl_sign_ms(options.openssl_seconds)] if options.openssl_seconds else []
    parts = RelaxedParts()
    # Each piece of the two paths, timed alone on one message: (sign_built's, sign's); None: not in that path.
    pieces = {
        "bare-LF check (two counts)": (lambda: (head.count(b"\n"), head.count(b"\r\n")),
                                       lambda: (message.count(b"\n"), message.count(b"\r\n"))),
        "split head / body": (None, lambda: message.partition(b"\r\n\r\n")),
        "header fields, relaxed": (lambda: relaxed_headers(head),) * 2,
        "body, relaxed": (lambda: parts.relaxed_pieces(built.body_parts), lambda: relaxed_body(body)),
        "body SHA-256": (lambda: sha256(body),) * 2,
        "RSA sign (incl. header hash)": (lambda: key.sign(signed_data, padding.PKCS1v15(), hashes.SHA256()),) * 2,
    }
    rounds, per_round = 10, max(1, options.messages // 10)
    engine, from_bytes = [], []
    times = {(name, path): [] for name, functions in pieces.items() for path, function in enumerate(functions)
             if function is not None}
    wall = time.perf_counter()
    for round_number in range(rounds):  # interleaved, so that load from elsewhere hits all alike
        first = round_number * per_round
        engine.append(per_message_ms(signer.sign_built, mailing, first, per_round))
        from_bytes.append(per_message_ms(lambda built: signer.sign(built.data), mailing, first, per_round))
        for name, functions in pieces.items():
            for path, function in enumerate(functions):
                if function is not None and not (path and function is functions[0]):
                    times[name, path].append(per_call_ms(function, per_round))
                elif function is not None:  # the same piece in both paths: timed once
                    times[name, path].append(times[name, 0][-1])
    wall_ms = (time.perf_counter() - wall) / (rounds * per_round) * 1000
    if options.openssl_seconds:
        openssl.append(openssl_sign_ms(options.openssl_seconds))
    engine_ms, bytes_ms = statistics.mean(engine), statistics.mean(from_bytes)
    piece_ms = {key: statistics.mean(values) for key, values in times.items()}
    rsa_times = times["RSA sign (incl. header hash)", 0]
    raw_ms = statistics.mean(rsa_times)

    print(f"\nCPU time per call, mean of {rounds} rounds ({rounds * per_round:,} messages per path; "
          f"wall-clock per round and message: {wall_ms:.3f} ms)")
    print(f"engine's path: DkimSigner.sign_built  {engine_ms:7.3f} ms/message  ({1000 / engine_ms:,.0f}/s)")
    print(f"other callers: DkimSigner.sign        {bytes_ms:7.3f} ms/message  ({1000 / bytes_ms:,.0f}/s)")
    print(f"bare RSA-2048 sign                    {raw_ms:7.3f} ms           (cryptography {cryptography.__version__}, "
          f"{openssl_backend.openssl_version_text()})")
    if openssl and all(openssl):
        reference = statistics.mean(ms for ms, _ in openssl)
        print(f"openssl speed rsa2048                 {reference:7.3f} ms/sign      (before {openssl[0][0]:.3f}, "
              f"after {openssl[1][0]:.3f}; {openssl[0][1]})")
        print(f"ratio engine's path (sign_built) / openssl speed: {engine_ms / reference:.2f}")
        print(f"ratio sign(bytes) / openssl speed:                {bytes_ms / reference:.2f}")
    for label, ours in (("engine's path (sign_built)", engine), ("sign(bytes)", from_bytes)):
        ratios = [mine / rsa for mine, rsa in zip(ours, rsa_times)]
        print(f"ratio {label + ' / bare RSA sign:':43s} {statistics.mean(ours) / raw_ms:.2f}  "
              f"(rounds: {min(ratios):.2f} - {max(ratios):.2f})")
    if options.dkimpy:
        import dkim  # only for the comparison: the old path

        def dkimpy_sign() -> bytes:
            return dkim.sign(message, b"mailer2026", b"example.org", pem, canonicalize=(b"relaxed", b"relaxed"),
                             include_headers=list(names)) + message

        old_ms = per_call_ms(dkimpy_sign, options.dkimpy)
        print(f"dkimpy sign (old path) {old_ms:7.3f} ms/message  ({1000 / old_ms:,.0f}/s, {options.dkimpy} messages;"
              f" {old_ms / engine_ms:.1f} x sign_built)")
    print("\nwhere the time goes, us per message (each piece timed alone, interleaved with the above):")
    print(f"  {'':34s} {'sign_built':>10s} {'sign(bytes)':>12s}")
    totals = (engine_ms, bytes_ms)
    for name in pieces:
        cells = [f"{piece_ms[name, path] * 1000:.1f}" if (name, path) in piece_ms else "-" for path in (0, 1)]
        print(f"  {name:34s} {cells[0]:>10s} {cells[1]:>12s}")
    rest = [totals[path] - sum(ms for (_, at), ms in piece_ms.items() if at == path) for path in (0, 1)]
    # The rest is the field's folding, base64 and joins, and the RSA sign being slower amid
    # other work (its caches cold) than in the bare signature's tight loop.
    print(f"  {'rest (fold, base64, joins, caches)':34s} {rest[0] * 1000:10.1f} {rest[1] * 1000:12.1f}")
    beyond = [(total - raw_ms) * 1000 for total in totals]
    print(f"  {'all but the RSA signature':34s} {beyond[0]:10.1f} {beyond[1]:12.1f}")
    if options.profile:
        import cProfile
        import pstats

        messages = [mailing.build(number) for number in range(1000)]
        profiler = cProfile.Profile(time.process_time)
        profiler.runcall(lambda: [signer.sign_built(built) for built in messages])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
