"""Parsing mail is pure and never raises: broken MIME, legacy charsets, HTML-only bodies, hostile attachments."""

from __future__ import annotations

from closeout.demo.make_mail import signature_png, tiny_jpeg
from mail_factory import mail
from mappings.mail_parse import content_hash_of, parse_message

CAP = 100_000


def test_an_rfc2047_subject_and_a_koi8r_body_are_decoded_to_text():
    raw = ("From: =?utf-8?q?Dana_R=C3=BCiz?= <Dana@Acme.example>\r\nSubject: =?koi8-r?b?8NLJ18XU?= WO-1042\r\n"
           "Message-ID: <k@x>\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           ).encode() + "Привет, фильтр заменён".encode("koi8-r")
    message = parse_message(raw, max_attachment_bytes=CAP)
    assert message.subject == "Привет WO-1042"
    assert message.from_name == "Dana Rüiz" and message.from_address == "dana@acme.example"
    assert message.text == "Привет, фильтр заменён"


def test_windows_1252_text_labelled_latin_1_or_utf_8_comes_out_right():
    body = "Caf\u00e9 hood \u2013 belt worn".encode("cp1252")
    for label in ("iso-8859-1", "utf-8", "x-unknown-charset"):
        raw = (f"From: a@b.example\r\nSubject: note\r\nContent-Type: text/plain; charset={label}\r\n\r\n").encode()
        assert parse_message(raw + body, max_attachment_bytes=CAP).text == "Café hood – belt worn", label


def test_an_html_only_body_becomes_plain_text_without_scripts_or_markup():
    raw = mail(1, "Job #1042", "<html><head><style>p{}</style></head><body><p>Fixed &amp; tested</p>"
               "<script>alert(1)</script><p>Gauge <b>OK</b><br>Done</p></body></html>", html=True)
    text = parse_message(raw, max_attachment_bytes=CAP).text
    assert text == "Fixed & tested\n\nGauge OK\nDone"
    assert "<" not in text and "alert" not in text


def test_hostile_attachment_names_lose_their_paths_and_control_characters():
    names = ["../../etc/passwd", "C:\\Windows\\..\\evil.exe", "a\x00b\x07\x1bc.jpg", "..", ".hidden.png",
             "x" * 300 + ".pdf"]
    parts = "".join(f'--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; '
                    f'filename="{name.replace(chr(92), chr(92) * 2)}"\r\nContent-Transfer-Encoding: base64\r\n\r\nZGF0YQ==\r\n' for name in names)
    raw = ('From: a@b.example\r\nSubject: names\r\nMIME-Version: 1.0\r\n'
           'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + "--B--\r\n").encode()
    stored = [a.file_name for a in parse_message(raw, max_attachment_bytes=CAP).attachments]
    assert stored[:2] == ["passwd", "evil.exe"]
    assert stored[2] == "abc.jpg"
    assert stored[3].startswith("attachment-") and stored[4] == "hidden.png"
    assert len(stored[5]) <= 120 and stored[5].endswith(".pdf")
    assert all("/" not in n and "\\" not in n and not any(ord(c) < 32 for c in n) for n in stored)


def test_an_attachment_over_the_cap_is_recorded_but_its_bytes_are_not_kept():
    raw = mail(3, "big", attachments=(("scan.pdf", b"%PDF-" + b"0" * 5000, "application/pdf"),))
    (attachment,) = parse_message(raw, max_attachment_bytes=1000).attachments
    assert attachment.skipped and attachment.content == b"" and attachment.size_bytes == 5005
    assert attachment.media_type == "application/pdf"


def test_media_types_are_sniffed_from_the_bytes_not_taken_from_the_label():
    raw = mail(4, "photos", attachments=(("a.jpg", signature_png(), "image/jpeg"),
                                         ("b.png", tiny_jpeg(8, 8), "image/png"),
                                         ("c.jpg", b"MZ\x90\x00 not an image", "image/jpeg")))
    types = [a.media_type for a in parse_message(raw, max_attachment_bytes=CAP).attachments]
    assert types == ["image/png", "image/jpeg", "application/octet-stream"]


def test_broken_mime_without_its_boundary_still_gives_the_text():
    raw = (b"From: a@b.example\r\nSubject: broken\r\nMessage-ID: <b@x>\r\n"
           b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\nJust text, no parts.\r\n")
    message = parse_message(raw, max_attachment_bytes=CAP)
    assert message.parsed and "Just text" in message.text and message.problems


def test_bytes_that_are_not_a_message_come_back_unparsed_with_a_stable_id():
    message = parse_message(b"\x00\x01garbage without headers", max_attachment_bytes=CAP)
    assert not message.parsed and message.message_id.endswith("@closeout.invalid>")
    assert message.content_hash == content_hash_of(b"\x00\x01garbage without headers")


def test_the_content_hash_ignores_the_line_endings_an_imap_server_rewrites():
    assert content_hash_of(b"a\nb\n") == content_hash_of(b"a\r\nb\r\n")
