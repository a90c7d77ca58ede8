"""`genchi address normalize` / `genchi address postal` as a user runs them."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from genchi.geo.management.commands.address import normalize_stream


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "genchi", "address", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_normalize_streams_one_line_per_input_in_order():
    lines = [
        "東京都新宿区西新宿２丁目８番１号".encode(),
        b"",
        b"\xff\xfe invalid utf-8",
        ("あ" * 1001).encode(),
        "京都市中京区寺町通御池上る上本能寺前町488".encode(),
        b"control \x00\x07 only",
        b"hello",
    ]
    proc = run_cli("normalize", stdin=b"\n".join(lines) + b"\n")
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    out = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines)
    assert out[0]["input"] == "東京都新宿区西新宿２丁目８番１号"
    assert (out[0]["town"], out[0]["rest"], out[0]["level"]) == ("西新宿二丁目", "8-1", 3)
    assert out[1]["level"] == 0 and out[1]["error"]
    assert out[2]["level"] == 0 and "UTF-8" in out[2]["error"]
    assert out[3]["level"] == 0 and "1000" in out[3]["error"]
    assert out[4]["town"] == "上本能寺前町"
    assert out[5]["level"] == 0
    assert out[6]["level"] == 0 and out[6]["error"]


def test_normalize_with_postal_column_and_crlf_bom():
    data = "\ufeff東京都新宿区西新宿2-8-1\t1600023\r\n新宿区西新宿2-8-1\t0000000\r\n".encode()
    sink = io.BytesIO()
    assert normalize_stream(io.BytesIO(data), sink, with_postal=True, flush=False) == 2
    first, second = (json.loads(x) for x in sink.getvalue().decode().splitlines())
    assert first["input"] == "東京都新宿区西新宿2-8-1"
    assert first["postal_match"] is True
    assert second["postal_match"] is False and second["warnings"]


def test_postal_command():
    proc = run_cli("postal", "1600022")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "東京都新宿区新宿" in proc.stdout.decode()
    proc = run_cli("postal", "160-0022", "--json")
    assert json.loads(proc.stdout.decode().splitlines()[0])["town"] == "新宿"


def test_postal_command_errors_in_japanese_without_traceback():
    for code, message in (("0000000", "存在しません"), ("abc", "形式")):
        proc = run_cli("postal", code)
        err = proc.stderr.decode()
        assert proc.returncode != 0
        assert message in err and "Traceback" not in err


def test_postal_command_error_reads_like_the_other_commands():
    """Like every Genchi command: 'エラー: …', no Python class name (CommandError)."""
    proc = run_cli("postal", "abc")
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert err.startswith("エラー: ") and "CommandError" not in err
