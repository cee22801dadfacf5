"""Writes the demo's bundled Maildir (``mail/northwind/new/*.eml``): crew notes, photos, a sign-off, supplier mail.

Run ``python -m closeout.demo.make_mail`` after changing it; the files are committed. Images are made with the
standard library alone: a tiny grey baseline JPEG and small RGB PNGs.
"""

from __future__ import annotations

import struct
import zlib
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).parent / "mail" / "northwind"
CENTRAL = timezone(timedelta(hours=-6))


def tiny_jpeg(width: int, height: int) -> bytes:
    """A valid grayscale baseline JPEG, every 8x8 block mid-grey (DC 0, EOB), with one-code Huffman tables."""
    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    one_code = bytes([1] + [0] * 15) + b"\x00"
    blocks = -(-width // 8) * -(-height // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).replace(b"\xff", b"\xff\x00")
    return (b"\xff\xd8" + segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xFFDB, b"\x00" + bytes([1] * 64))
            + segment(0xFFC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
            + segment(0xFFC4, b"\x00" + one_code) + segment(0xFFC4, b"\x10" + one_code)
            + segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00") + scan + b"\xff\xd9")


def tiny_png(width: int, height: int, pixel) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def signature_png() -> bytes:
    """White, with a dark scribble: a signature drawn on the tech's tablet."""
    def pixel(x: int, y: int) -> tuple[int, int, int]:
        wave = 12 + int(6 * __import__("math").sin(x / 5))
        return (20, 20, 60) if abs(y - wave) <= 1 else (255, 255, 255)
    return tiny_png(64, 24, pixel)


def _message(number: int, sender: str, subject: str, at: datetime, body: str, *, html: bool = False,
             reply_to: str | None = None, attachments: tuple[tuple[str, bytes, str], ...] = (),
             ) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "field@northwind.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = f"<demo-{number:04d}@mail.northwind.example>"
    if reply_to:
        message["In-Reply-To"] = reply_to
        message["References"] = reply_to
    if html:
        message.set_content(body, subtype="html")
    else:
        message.set_content(body)
    for name, data, media_type in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def legacy_note() -> bytes:
    """A mailer from 2005: RFC 2047 Latin-1 subject, a body in windows-1252 labelled iso-8859-1, 8-bit, bare LF."""
    body = "Cleaned the caf\u00e9 hood grease filters; fan belt is worn \u2013 replace at next PM.\n"
    return (b"From: Sam Okafor <sam.okafor@northwind.example>\nTo: field@northwind.example\n"
            b"Subject: =?iso-8859-1?q?Job_#1012_caf=E9_hood_note?=\n"
            b"Date: Thu, 05 Nov 2026 15:10:00 -0600\nMessage-ID: <demo-0008@mail.northwind.example>\n"
            b"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
            + body.encode("cp1252"))


def messages() -> list[EmailMessage]:
    day = lambda d, h, m: datetime(2026, 11, d, h, m, tzinfo=CENTRAL)  # noqa: E731
    blue = tiny_png(24, 16, lambda x, y: (60 + 4 * x, 110, 160 + 3 * y))
    return [
        _message(1, "Dana Ruiz <dana.ruiz@northwind.example>", "Job #1001 filters done - photos", day(2, 11, 20),
                 "Swapped all four MERV 13 filters on RTU-1. Old ones were packed solid.\n"
                 "Before and after photos attached. Customer walked the roof with me.\n\nDana",
                 attachments=(("before-filters.jpg", tiny_jpeg(16, 16), "image/jpeg"),
                              ("after-filters.jpg", tiny_jpeg(24, 16), "image/jpeg"))),
        _message(2, "Kelly Nguyen <ops@prairiewindcu.example>", "Re: photos from today", day(2, 13, 5),
                 "Thanks Dana, the difference is obvious. Same schedule next quarter please.\n\n"
                 "> Swapped all four MERV 13 filters on RTU-1.",
                 reply_to="<demo-0001@mail.northwind.example>"),
        _message(3, "Maria Lopez <engineering@foxglovehotel.example>", "RE: WO-1003 capacitor replacement",
                 day(2, 16, 30),
                 "Dana's fix on the rooftop unit is holding and the rooms are cooling again.\n"
                 "I approve the work - consider this our sign-off. Signature attached.\n\n"
                 "Maria Lopez, Chief Engineer, Foxglove Boutique Hotel",
                 attachments=(("signature-maria-lopez.png", signature_png(), "image/png"),)),
        _message(4, "Lee Nakamura <lee.nakamura@northwind.example>", "Job #1028 projector mount - after photo",
                 day(10, 17, 40),
                 "<html><body><p>Mounted the new projector and ran <b>two HDMI 2.1</b> runs to the lectern.</p>"
                 "<p>After photo attached. Library staff tested both inputs.</p>"
                 "<script>alert('never rendered')</script></body></html>", html=True,
                 attachments=(("after-install.png", blue, "image/png"),)),
        _message(5, "Hello Maple Street <hello@maplestreetbakery.example>", "Job #1010 - one more thing",
                 day(4, 12, 30),
                 "Thanks for the filter change. While you're there next time, could you also check the walk-in "
                 "cooler door gasket? It's not sealing.\n"),
        _message(6, "Ferguson Supply <orders@ferguson-supply.example>", "Order confirmation SO-88213",
                 day(3, 9, 15),
                 "Your order SO-88213 (2x dual run capacitor 45/5, 1x contactor 40A) ships today.\n"
                 "Pick up at counter 3 after 2 pm.\n"),
        _message(7, "Front desk <office@lakesidedental.example>", "Thermostat question", day(12, 8, 45),
                 "Hi, the thermostat in operatory 2 reads 3 degrees warm since your visit. Can someone look?\n"),
    ]


def main() -> None:
    folder = HERE / "new"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.eml"):
        old.unlink()
    raw = [message.as_bytes() for message in messages()] + [legacy_note()]
    for number, data in enumerate(raw, start=1):
        (folder / f"{number:04d}.northwind.eml").write_bytes(data)


if __name__ == "__main__":
    main()
