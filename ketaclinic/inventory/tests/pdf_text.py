"""Just enough PDF reading to test what a WeasyPrint report says: decompress the content
streams, map each font's glyph codes back to text through its ToUnicode CMap, and return the
shown strings joined by spaces. (No PDF library is a project dependency.)"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_TOUNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
_FONT_REF = re.compile(rb"/([A-Za-z0-9_.+-]+) (\d+) 0 R")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_BFRANGE = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")
_TOKENS = re.compile(rb"/([A-Za-z0-9_.+-]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj", re.S)


def _stream(body: bytes) -> bytes:
    match = _STREAM.search(body)
    if match is None:
        return b""
    try:
        return zlib.decompress(match.group(1))
    except zlib.error:
        return match.group(1)


def _cmap(data: bytes) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in _BFRANGE.findall(block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[f"{code:0{len(lo)}x}"] = chr(start + offset)
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in _BFCHAR.findall(block):
            mapping[src.decode().lower()] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    return mapping


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Top-level objects plus those packed in object streams (/Type /ObjStm)."""
    objects = {int(num): body for num, body in _OBJ.findall(pdf)}
    for body in list(objects.values()):
        header = body.split(b"stream", 1)[0]
        if b"/ObjStm" not in header:
            continue
        first = int(re.search(rb"/First (\d+)", header).group(1))  # type: ignore[union-attr]
        data = _stream(body)
        numbers = [int(n) for n in data[:first].split()]
        pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
        for index, (num, offset) in enumerate(pairs):
            end = pairs[index + 1][1] if index + 1 < len(pairs) else len(data) - first
            objects[num] = data[first + offset : first + end]
    return objects


def pdf_text(pdf: bytes) -> str:
    objects = _objects(pdf)
    font_cmaps: dict[int, dict[str, str]] = {}
    for num, body in objects.items():
        ref = _TOUNICODE.search(body)
        if ref and int(ref.group(1)) in objects:
            font_cmaps[num] = _cmap(_stream(objects[int(ref.group(1))]))
    names: dict[str, dict[str, str]] = {}
    for body in objects.values():
        for name, num in _FONT_REF.findall(body.split(b"stream", 1)[0]):
            if int(num) in font_cmaps:
                names[name.decode()] = font_cmaps[int(num)]
    shown: list[str] = []
    for body in objects.values():
        content = _stream(body)
        if b"Tf" not in content:
            continue
        cmap: dict[str, str] = {}
        for font, array, single in _TOKENS.findall(content):
            if font:
                cmap = names.get(font.decode(), {})
                continue
            hexes = re.findall(rb"<([0-9a-fA-F]*)>", array) if array else [single]
            text = ""
            for chunk in hexes:
                code = chunk.decode().lower()
                text += "".join(cmap.get(code[i : i + 4], "") for i in range(0, len(code), 4))
            shown.append(text)
    return re.sub(r"\s+", " ", " ".join(shown))
