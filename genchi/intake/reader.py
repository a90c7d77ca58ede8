"""Reading the tax division's list: CSV (UTF-8, UTF-8 with BOM, CP932) or XLSX.

`open_table(data, ...)` turns the uploaded bytes into a `Table`: the header row and an
iterator over the data rows (each a list of strings and its 1-based row number in the
file, header = row 1). Anything that cannot be read is refused with `FileRefused`,
whose message is Japanese and meant for the person who uploaded the file.

`data` is the bytes, or a `Source` that reads them again for each pass without holding
them whole: `CompressedSource` decompresses a run's kept (compressed) file as it is read,
so a CSV's check holds the compressed file and a slice, never the file (issue 13).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop as N_

from .messages import Part, part, render

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024  # a zip bomb stops here, before openpyxl reads it
MAX_COLUMNS = 200
MAX_CELL_CHARS = 10_000

ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp932": "cp932"}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM付き)", "cp932": "Shift_JIS (CP932)"}

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileRefused(Exception):
    """The file as a whole cannot be read; nothing of it is imported."""

    def __init__(self, message: Part | list[Part], *, row: int | None = None) -> None:
        self.parts = message if isinstance(message, list) else [message]
        super().__init__(self.parts)
        self.row = row

    @property
    def message(self) -> str:
        """The reason in the active language."""
        return render(self.parts)


@dataclass
class Table:
    file_format: str  # "csv" or "xlsx"
    encoding: str  # the encoding used for CSV, "" for XLSX
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    estimated_rows: int  # for progress; exact for XLSX with a dimension, else a line count
    sheet_name: str = ""
    notes: list[str] = field(default_factory=list)


DECODE_SLICE = 1024 * 1024


class Source:
    """A file's bytes, read from the start as often as a pass needs them."""

    size: int

    def chunks(self) -> Iterator[bytes]:
        """The bytes in order, in slices of at most DECODE_SLICE."""
        raise NotImplementedError

    def open(self) -> io.RawIOBase:
        raise NotImplementedError

    def head(self, n: int) -> bytes:
        out = b""
        for chunk in self.chunks():
            out += chunk[: n - len(out)]
            if len(out) >= n:
                break
        return out

    def whole(self) -> bytes:
        return b"".join(self.chunks())


class BytesSource(Source):
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), DECODE_SLICE):
            yield self.data[start : start + DECODE_SLICE]

    def open(self) -> io.RawIOBase:
        return io.BytesIO(self.data)

    def head(self, n: int) -> bytes:
        return self.data[:n]

    def whole(self) -> bytes:
        return self.data


class _Inflating(io.RawIOBase):
    """A readable stream of a zlib stream's plaintext, inflated a read at a time."""

    def __init__(self, compressed: bytes) -> None:
        self._view = memoryview(compressed)
        self._pos = 0
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = len(buffer)
        while not self._pending:
            if self._inflate.unconsumed_tail:
                feed = self._inflate.unconsumed_tail
            elif self._pos < len(self._view):
                feed = self._view[self._pos : self._pos + DECODE_SLICE]
                self._pos += len(feed)
            else:
                self._pending = self._inflate.flush()
                if not self._pending:
                    return 0
                break
            self._pending = self._inflate.decompress(feed, want)
        taken, self._pending = self._pending[:want], self._pending[want:]
        buffer[: len(taken)] = taken
        return len(taken)


class CompressedSource(Source):
    """A zlib-compressed file (a run's kept file), inflated as it is read, each pass anew."""

    def __init__(self, compressed: bytes, size: int) -> None:
        self.compressed = compressed
        self.size = size

    def open(self) -> io.RawIOBase:
        return _Inflating(self.compressed)

    def chunks(self) -> Iterator[bytes]:
        stream = self.open()
        while chunk := stream.read(DECODE_SLICE):
            yield chunk


def as_source(data: bytes | Source) -> Source:
    return data if isinstance(data, Source) else BytesSource(data)


def _with_last(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each chunk and whether it is the last one."""
    previous = None
    for chunk in chunks:
        if previous is not None:
            yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True


def sniff_format(data: bytes | Source, filename: str = "") -> str:
    data = as_source(data).head(len(_OLE_MAGIC))
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        raise FileRefused(
            part(
                N_(
                    "旧形式の Excel ファイル(.xls)には対応していません。"
                    "Excel で「.xlsx」または CSV として保存し直してください。"
                )
            )
        )
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileRefused(
            part(N_("Excel ファイル(.xlsx)として読めません。ファイルが壊れています。"))
        )
    return "csv"


def detect_encoding(data: bytes | Source) -> str:
    """UTF-8 (with or without BOM) or CP932, or refuse with the reason."""
    data = as_source(data)
    first = data.head(65536)
    if first.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(
            part(
                N_(
                    "文字コード UTF-16 のファイルには対応していません。"
                    "UTF-8 または Shift_JIS(CP932) で保存し直してください。"
                )
            )
        )
    if b"\x00" in first:
        raise FileRefused(
            part(N_("テキストファイル(CSV)ではありません。CSV か Excel(.xlsx) を選んでください。"))
        )
    for encoding in ("utf-8", "cp932"):
        if _bad_byte(data, encoding) is None:
            return encoding
    raise FileRefused(
        part(
            N_(
                "文字コードを判別できません。UTF-8 または Shift_JIS(CP932) の CSV にしてください"
                "(文字コードを指定して読み直すこともできます)。"
            )
        )
    )


def _bad_byte(data: bytes | Source, encoding: str) -> int | None:
    """The offset of the first byte `encoding` cannot read, or None when all can.

    Decoded a slice at a time and the text thrown away: proving the whole file readable
    costs one slice of memory, not a copy of the file as text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    start = 0
    for piece, last in _with_last(as_source(data).chunks()):
        try:
            decoder.decode(piece, final=last)
        except UnicodeDecodeError as exc:
            # The decoder's buffer holds at most a few bytes of an unfinished character.
            return max(start + exc.start - len(decoder.getstate()[0]), 0)
        start += len(piece)
    return None


def _count_newlines(data: Source, before: int | None = None) -> int:
    count = seen = 0
    for chunk in data.chunks():
        if before is not None and seen + len(chunk) >= before:
            return count + chunk[: before - seen].count(b"\n")
        count += chunk.count(b"\n")
        seen += len(chunk)
    return count


def _check_decodable(data: Source, encoding: str) -> None:
    bad = _bad_byte(data, encoding)
    if bad is not None:
        line = _count_newlines(data, bad) + 1
        raise FileRefused(
            part(
                N_("指定された文字コード(%(enc)s)で読めない文字があります(%(line)d 行目付近)。"),
                enc=ENCODING_LABELS.get(encoding, encoding),
                line=line,
            ),
            row=line,
        )


def _clean_header(cells: list[str]) -> list[str]:
    header = [str(c if c is not None else "").strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    return header


def _csv_table(data: Source, encoding_override: str = "") -> Table:
    if encoding_override:
        if encoding_override not in ENCODINGS:
            raise FileRefused(part(N_("文字コードの指定が正しくありません。")))
        encoding = encoding_override
        if encoding == "utf-8" and data.head(3) == b"\xef\xbb\xbf":
            encoding = "utf-8-sig"
    else:
        encoding = detect_encoding(data)
    _check_decodable(data, encoding)
    if any(b"\x00" in chunk for chunk in data.chunks()):
        raise FileRefused(part(N_("テキストファイル(CSV)ではありません。")))
    csv.field_size_limit(MAX_CELL_CHARS * 4)
    # The rows are decoded as they are read: memory holds the file's bytes (or, from a
    # CompressedSource, its compressed bytes) and one buffer of text, not the whole file
    # as text (issue 13: memory grew with the file).
    stream = io.TextIOWrapper(io.BufferedReader(data.open()), encoding=encoding, newline="")
    reader = csv.reader(stream, strict=True)
    try:
        header_row = next(reader)
    except StopIteration as exc:
        raise FileRefused(part(N_("ファイルが空です。"))) from exc
    except csv.Error as exc:
        raise FileRefused(part(N_("CSV の見出し行を読めません。"))) from exc
    header = _clean_header(header_row)
    estimated = max(_count_newlines(data) - 1, 0)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for cells in reader:
                number = reader.line_num
                # line_num counts physical lines; the row number people see is the record.
                yield number, cells
        except csv.Error as exc:
            raise FileRefused(
                part(
                    N_("CSV の形式が正しくありません(%(line)d 行目付近: 引用符の閉じ忘れなど)。"),
                    line=reader.line_num,
                ),
                row=reader.line_num,
            ) from exc

    return Table("csv", encoding, header, _numbered(rows()), estimated)


def _numbered(rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    """Rows numbered as records (header = 1), skipping rows that are entirely blank."""
    number = 1
    for _line, cells in rows:
        number += 1
        if not any((c or "").strip() for c in cells):
            continue
        yield number, cells


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused(
            part(N_("Excel ファイル(.xlsx)が壊れているか、途中で切れています。"))
        ) from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNCOMPRESSED or len(infos) > 10_000:
        raise FileRefused(part(N_("Excel ファイルの展開後のサイズが大きすぎます。")))
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > 1000:
            raise FileRefused(part(N_("Excel ファイルの圧縮率が異常です(展開を中止しました)。")))
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise FileRefused(part(N_("Excel ファイル(.xlsx)ではありません。")))
    bad = archive.testzip()
    if bad is not None:
        raise FileRefused(part(N_("Excel ファイル(.xlsx)が壊れています(%(name)s)。"), name=bad))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _xlsx_table(data: bytes, sheet: str = "") -> Table:
    _check_zip(data)
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRefused(
            part(N_("Excel ファイル(.xlsx)を開けません。ファイルが壊れています。"))
        ) from exc
    except Exception as exc:  # openpyxl raises many kinds on malformed XML
        raise FileRefused(
            part(N_("Excel ファイル(.xlsx)を開けません。ファイルが壊れています。"))
        ) from exc
    if sheet:
        if sheet not in workbook.sheetnames:
            raise FileRefused(
                part(
                    N_("シート「%(sheet)s」がありません(あるシート: %(names)s)。"),
                    sheet=sheet,
                    names="、".join(workbook.sheetnames),
                )
            )
        worksheet = workbook[sheet]
    else:
        worksheet = workbook.worksheets[0]
    iterator = worksheet.iter_rows(values_only=True)
    try:
        first = next(iterator, None)
    except Exception as exc:
        raise FileRefused(part(N_("Excel ファイル(.xlsx)のシートを読めません。"))) from exc
    if first is None:
        raise FileRefused(part(N_("ファイルが空です。")))
    header = _clean_header([_cell_text(v) for v in first])
    try:
        estimated = max((worksheet.max_row or 0) - 1, 0)
    except Exception:
        estimated = 0

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for values in iterator:
                number += 1
                yield number, [_cell_text(v) for v in values[:MAX_COLUMNS]]
        except FileRefused:
            raise
        except Exception as exc:
            raise FileRefused(
                part(N_("Excel ファイルの %(row)d 行目付近が壊れています。"), row=number),
                row=number,
            ) from exc
        finally:
            workbook.close()

    return Table("xlsx", "", header, _numbered(rows()), estimated, sheet_name=worksheet.title)


def open_table(
    data: bytes | Source, *, filename: str = "", encoding: str = "", sheet: str = ""
) -> Table:
    """Open uploaded bytes (or a `Source` of them) as a table, or raise `FileRefused`."""
    data = as_source(data)
    if all(not chunk.strip() for chunk in data.chunks()):
        raise FileRefused(part(N_("ファイルが空です。")))
    if data.size > MAX_FILE_BYTES:
        raise FileRefused(
            part(
                N_("ファイルが大きすぎます(上限 %(mb)d MB)。分割して取り込んでください。"),
                mb=MAX_FILE_BYTES // (1024 * 1024),
            )
        )
    file_format = sniff_format(data, filename)
    if file_format == "xlsx":
        table = _xlsx_table(data.whole(), sheet)  # openpyxl seeks: the (zipped) file whole
    else:
        table = _csv_table(data, encoding)
    if not any(table.header):
        raise FileRefused(part(N_("見出し行(1 行目)が空です。1 行目に列名を入れてください。")))
    if len(table.header) > MAX_COLUMNS:
        raise FileRefused(part(N_("列が多すぎます(上限 %(n)d 列)。"), n=MAX_COLUMNS))
    return table
