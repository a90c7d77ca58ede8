import shutil
import subprocess

import pytest

from genchi.core import pdf
from genchi.core.pdf import para


def fonts_embedded(data: bytes, tmp_path) -> list[str]:
    """Font names that pdffonts reports as embedded (falls back to the PDF bytes)."""
    if shutil.which("pdffonts"):
        path = tmp_path / "doc.pdf"
        path.write_bytes(data)
        out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()[2:]
        assert lines, out.stdout
        assert all(line.split()[-5] == "yes" for line in lines), out.stdout  # emb column
        return [line.split()[0] for line in lines]
    assert b"/FontFile2" in data
    return ["BIZUDGothic"]


def test_bundled_fonts_are_in_the_package():
    assert (pdf.FONT_DIR / "BIZUDGothic-Regular.ttf").stat().st_size > 1_000_000
    assert (pdf.FONT_DIR / "BIZUDGothic-Bold.ttf").exists()
    assert "SIL OPEN FONT LICENSE" in (pdf.FONT_DIR / "OFL.txt").read_text()


def test_document_embeds_japanese_fonts(tmp_path):
    st = pdf.styles()
    story = [
        para("受け渡し票", st["title"]),
        para("令和8年4月1日 <script>は文字のまま</script>", st["body"]),
        pdf.QrCode("GENCHI-SLIP:test"),
        pdf.seal_boxes(["渡した者", "受け取った者"]),
    ]
    data = pdf.build_document(story, title="試験")
    assert data.startswith(b"%PDF")
    assert b"/FontFile2" in data
    names = fonts_embedded(data, tmp_path)
    assert any("BIZUDGothic" in n for n in names)


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_orientation(orientation):
    assert pdf.build_document(
        [para("台帳", pdf.styles()["body"])], title="t", orientation=orientation
    )
