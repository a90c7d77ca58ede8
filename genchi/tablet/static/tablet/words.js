// The S5 guard on the device (特記事項 5): the same normalisation as
// genchi/fieldwork/forbidden.py (`normalise`) and the same matching, over the patterns the
// server compiled from its word list and sent at sync. The server checks again at sync up.

const KATA_START = 0x30a1;
const KATA_END = 0x30f6;
const VOICING = new Set(["\u3099", "\u309a"]);
const INVISIBLE = /^[\p{Cf}\p{Mn}\p{Zs}]$/u;

function kana(text) {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0);
    out += code >= KATA_START && code <= KATA_END ? String.fromCodePoint(code - 0x60) : ch;
  }
  return out;
}

// [normalised text, for each of its UTF-16 units the [start, end) of the original character]
export function normalise(text, dropped) {
  const pieces = [];
  const spans = [];
  let at = 0;
  for (const ch of text) {
    const span = [at, at + ch.length];
    at += ch.length;
    if (dropped.includes(ch)) continue;
    for (const piece of kana(ch.normalize("NFKC")).toLowerCase()) {
      if (dropped.includes(piece) || INVISIBLE.test(piece)) {
        if (VOICING.has(piece) && pieces.length) {
          // a voicing mark NFKC left alone joins the kana before it
          const composed = (pieces[pieces.length - 1] + piece).normalize("NFC");
          if (Array.from(composed).length === 1) pieces[pieces.length - 1] = composed;
        }
        continue;
      }
      pieces.push(piece);
      spans.push(span);
    }
  }
  const where = [];
  pieces.forEach((piece, i) => {
    for (let k = 0; k < piece.length; k += 1) where.push(spans[i]);
  });
  return [pieces.join(""), where];
}

// Every match, also those starting inside another (as the server's `_overlapping`).
function overlapping(source, text) {
  if (!source) return [];
  const pattern = new RegExp(source, "g");
  const spans = [];
  let pos = 0;
  while (pos < text.length) {
    pattern.lastIndex = pos;
    const m = pattern.exec(text);
    if (!m) break;
    if (m[0].length > 0) spans.push([m.index, m.index + m[0].length]);
    pos = m.index + 1;
  }
  return spans;
}

function cover(spans) {
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let next = 0;
  let reach = -1;
  return (start, end) => {
    while (next < sorted.length && sorted[next][0] <= start) {
      reach = Math.max(reach, sorted[next][1]);
      next += 1;
    }
    return reach >= end;
  };
}

// {allowed, categories: [codes], words: [the writer's own spans], message}
export function checkText(text, list) {
  const [norm, where] = normalise(text || "", list.dropped);
  if (!norm) return { allowed: true, categories: [], words: [], message: "" };
  const landmarks = overlapping(list.landmark, norm);
  const hits = [];
  for (const rule of list.categories) {
    if (!rule.match) continue;
    const excused = cover(overlapping(rule.excuse, norm));
    const atLandmark = cover(landmarks);
    let coveredUntil = -1;
    for (const [start, end] of overlapping(rule.match, norm)) {
      if (excused(start, end) || atLandmark(start, end)) continue;
      if (start < coveredUntil) continue;
      coveredUntil = end;
      const from = where[start][0];
      const to = where[end - 1][1];
      hits.push({ code: rule.code, word: text.slice(from, to), start: from });
    }
  }
  if (!hits.length) return { allowed: true, categories: [], words: [], message: "" };
  const categories = list.categories.map((c) => c.code).filter((code) => hits.some((h) => h.code === code));
  const words = [];
  for (const hit of [...hits].sort((a, b) => a.start - b.start)) if (!words.includes(hit.word)) words.push(hit.word);
  const lines = [];
  for (const code of categories) {
    const category = list.categories.find((c) => c.code === code);
    const own = [];
    for (const hit of hits) if (hit.code === code && !own.includes(hit.word)) own.push(hit.word);
    const quoted = own.slice(0, 10).map((w) => `「${w}」`).join("");
    lines.push(list.line.replace("%(words)s", quoted).replace("%(label)s", category.label));
    lines.push(category.why);
  }
  lines.push(list.rephrase);
  return { allowed: false, categories, words, message: lines.join("") };
}
