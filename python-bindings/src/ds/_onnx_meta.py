"""The metadata fields of an ONNX ModelProto, read straight from the protobuf
wire format (no onnx package; the graph's tensors are skipped, not parsed).
Malformed input raises ValueError."""

from __future__ import annotations

import mmap
from typing import Dict, Iterator, Tuple, Union

Field = Tuple[int, int, Union[int, memoryview]]  # (number, wire type, value)


def _varint(data: memoryview, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _skip_group(data: memoryview, pos: int, number: int) -> int:
    """The position after the end-group key matching a start-group key."""
    open_groups = [number]
    while open_groups:
        key, pos = _varint(data, pos)
        if key & 7 == 0:
            _, pos = _varint(data, pos)
        elif key & 7 == 2:
            size, pos = _varint(data, pos)
            pos += size
        elif key & 7 in (1, 5):
            pos += 8 if key & 7 == 1 else 4
        elif key & 7 == 3:
            open_groups.append(key >> 3)
        elif key & 7 == 4 and key >> 3 == open_groups[-1]:
            open_groups.pop()
        else:
            raise ValueError(f"bad wire type {key & 7} in a group")
        if pos > len(data):
            raise ValueError("group runs past the end")
    return pos


def _fields(data: memoryview) -> Iterator[Field]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            if size > len(data) - pos:
                raise ValueError("field runs past the end")
            yield number, wire, data[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 3:  # a group (unknown to ONNX, valid protobuf): skip it
            pos = _skip_group(data, pos, number)
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != len(data):
        raise ValueError("field runs past the end")


def _text(value: Union[int, memoryview]) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else ""


def read(data: memoryview) -> Dict[str, object]:
    meta: Dict[str, object] = {"producer_name": "", "domain": "", "model_version": 0,
                               "doc_string": "", "graph_name": "", "graph_doc_string": "",
                               "custom": {}}
    custom: Dict[str, str] = {}
    names = {2: "producer_name", 4: "domain", 6: "doc_string"}
    for number, wire, value in _fields(data):
        if number in names and wire == 2:
            meta[names[number]] = _text(value)
        elif number == 5 and wire == 0:
            meta["model_version"] = value
        elif number == 7 and isinstance(value, memoryview):  # GraphProto
            for n, w, v in _fields(value):
                if n == 2 and w == 2:
                    meta["graph_name"] = _text(v)
                elif n == 10 and w == 2:
                    meta["graph_doc_string"] = _text(v)
        elif number == 14 and isinstance(value, memoryview):  # StringStringEntryProto
            entry = {n: _text(v) for n, w, v in _fields(value) if w == 2}
            custom[entry.get(1, "")] = entry.get(2, "")
    meta["custom"] = custom
    return meta


def read_file(path: str) -> Dict[str, object]:
    with open(path, "rb") as f:
        try:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return read(memoryview(b""))
        with mapped:
            view = memoryview(mapped)
            try:
                return read(view)
            except ValueError as e:
                # Re-raised below, not here: e's traceback holds slices of the
                # view, and closing the map while they live raises BufferError.
                error = str(e)
            finally:
                view.release()
    raise ValueError(error)
